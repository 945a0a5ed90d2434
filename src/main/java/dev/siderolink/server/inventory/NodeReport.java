package dev.siderolink.server.inventory;

import java.util.List;

/**
 * What a node's events decide on its ServerBinding: the conditions ({@code status.conditions}, all
 * of them: rules change only their own types) and the addresses and hostname it reports
 * ({@code spec.addresses}, {@code spec.hostname}).
 *
 * @param conditions never null
 * @param addresses null when the binding has none
 * @param hostname null when the binding has none
 */
public record NodeReport(List<Condition> conditions, List<String> addresses, String hostname) {

    public NodeReport {
        conditions = conditions == null ? List.of() : List.copyOf(conditions);
        addresses = addresses == null ? null : List.copyOf(addresses);
    }
}
