package dev.siderolink.server.inventory;

import java.util.List;

/**
 * The part of a MetalMachine's status SideroLink mirrors from its ServerBinding.
 *
 * @param conditions {@code status.conditions}, all of them (only Talos ones are changed)
 * @param addresses {@code status.addresses}
 */
public record MetalMachineStatus(List<Condition> conditions, List<Address> addresses) {

    public MetalMachineStatus {
        conditions = conditions == null ? List.of() : List.copyOf(conditions);
        addresses = addresses == null ? List.of() : List.copyOf(addresses);
    }

    /** A Cluster API machine address: {@code type} is InternalIP, ExternalIP, Hostname, InternalDNS or ExternalDNS. */
    public record Address(String type, String address) {
        public static final String INTERNAL_IP = "InternalIP";
        public static final String HOSTNAME = "Hostname";
    }
}
