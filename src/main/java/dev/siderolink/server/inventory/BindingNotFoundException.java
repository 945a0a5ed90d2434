package dev.siderolink.server.inventory;

/** No ServerBinding with this name; permanent until an operator creates one. */
public class BindingNotFoundException extends RuntimeException {
    private final String uuid;

    public BindingNotFoundException(String uuid) {
        super("server binding \"" + uuid + "\" not found");
        this.uuid = uuid;
    }

    public String uuid() {
        return uuid;
    }
}
