package dev.siderolink.server.testing;

import java.security.SecureRandom;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A real {@link SecureRandom} whose next 8-byte draws can be scripted, so a test can make the
 * address allocator meet a collision on purpose.
 */
public class ScriptedRandom extends SecureRandom {

    private final transient Queue<byte[]> script = new ConcurrentLinkedQueue<>();

    public void queueInterfaceId(byte[] iid) {
        script.add(iid.clone());
    }

    @Override
    public void nextBytes(byte[] bytes) {
        byte[] next = bytes.length == 8 && script != null ? script.poll() : null;
        if (next != null) {
            System.arraycopy(next, 0, bytes, 0, 8);
        } else {
            super.nextBytes(bytes);
        }
    }
}
