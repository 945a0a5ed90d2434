package dev.siderolink.server.inventory;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Cluster API condition as stored in {@code status.conditions}: {@code severity} only when
 * {@code status} is False; {@code lastTransitionTime} changes only when {@code status} does.
 */
public record Condition(String type, String status, String severity, String reason, String message, String lastTransitionTime) {

    public static final String TRUE = "True";
    public static final String FALSE = "False";

    public static Condition isTrue(String type) {
        return new Condition(type, TRUE, null, null, null, null);
    }

    public static Condition isFalse(String type, String reason, String severity, String message) {
        return new Condition(type, FALSE, severity, reason, message, null);
    }

    /**
     * {@code conditions} with {@code wanted} set: same-status updates keep the old
     * lastTransitionTime, a status change stamps {@code now} (second precision, as Kubernetes
     * stores it). Returns an equal list when nothing changes, so callers can skip the write.
     */
    public static List<Condition> set(List<Condition> conditions, Condition wanted, Instant now) {
        List<Condition> result = new ArrayList<>(conditions);
        for (int i = 0; i < result.size(); i++) {
            Condition old = result.get(i);
            if (old.type().equals(wanted.type())) {
                String time = Objects.equals(old.status(), wanted.status()) && old.lastTransitionTime() != null
                        ? old.lastTransitionTime() : stamp(now);
                result.set(i, wanted.withTime(time));
                return List.copyOf(result);
            }
        }
        result.add(wanted.withTime(stamp(now)));
        return List.copyOf(result);
    }

    /** The condition of this type, or null. */
    public static Condition find(List<Condition> conditions, String type) {
        return conditions.stream().filter(c -> c.type().equals(type)).findFirst().orElse(null);
    }

    private Condition withTime(String time) {
        return new Condition(type, status, FALSE.equals(status) ? severity : null, reason, message, time);
    }

    private static String stamp(Instant now) {
        return now.truncatedTo(ChronoUnit.SECONDS).toString();
    }

    /** The Kubernetes JSON shape (absent fields left out). */
    public Map<String, Object> toMap() {
        Map<String, Object> map = new java.util.LinkedHashMap<>();
        map.put("type", type);
        map.put("status", status);
        putIfSet(map, "severity", severity);
        putIfSet(map, "reason", reason);
        putIfSet(map, "message", message);
        putIfSet(map, "lastTransitionTime", lastTransitionTime);
        return map;
    }

    public static Condition fromMap(Map<?, ?> map) {
        return new Condition(text(map.get("type")), text(map.get("status")), text(map.get("severity")),
                text(map.get("reason")), text(map.get("message")), text(map.get("lastTransitionTime")));
    }

    private static void putIfSet(Map<String, Object> map, String key, String value) {
        if (value != null && !value.isEmpty()) {
            map.put(key, value);
        }
    }

    private static String text(Object value) {
        return value == null ? null : value.toString();
    }
}
