package dev.siderolink.server.events;

import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.NodeReport;
import dev.talos.api.common.Code;
import dev.talos.api.machine.AddressEvent;
import dev.talos.api.machine.ConfigLoadErrorEvent;
import dev.talos.api.machine.ConfigValidationErrorEvent;
import dev.talos.api.machine.PhaseEvent;
import dev.talos.api.machine.SequenceEvent;
import inet.ipaddr.IPAddress;
import inet.ipaddr.AddressStringParameters;
import inet.ipaddr.IPAddressString;
import inet.ipaddr.IPAddressStringParameters;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Sidero's rules from Talos events to ServerBinding status (sidero-behaviour.md, "Status updates"),
 * as a pure function: applying an event twice gives the same status as once, which makes Talos'
 * at-least-once delivery harmless.
 */
public final class StatusRules {

    public static final String CONFIG_LOADED = "TalosConfigLoaded";
    public static final String CONFIG_VALIDATED = "TalosConfigValidated";
    public static final String INSTALLED = "TalosInstalled";
    /** The condition types events set; these are what is mirrored onto the MetalMachine. */
    public static final Set<String> TYPES = Set.of(CONFIG_LOADED, CONFIG_VALIDATED, INSTALLED);

    static final String SEVERITY_ERROR = "Error";
    static final String SEVERITY_INFO = "Info";

    /** Plain addresses only: no empty (loopback), prefix, mask, wildcard, range or inet_aton shorthand. */
    private static final IPAddressStringParameters PLAIN_IP = new IPAddressStringParameters.Builder()
            .allowEmpty(false).allowSingleSegment(false).allowPrefix(false).allowMask(false).allowPrefixOnly(false).allowAll(false)
            .allowWildcardedSeparator(false).setRangeOptions(AddressStringParameters.RangeParameters.NO_RANGE).allow_inet_aton(false)
            .toParams();

    private final List<IPAddress> negativeFilter;

    public StatusRules(List<IPAddress> negativeFilter) {
        this.negativeFilter = List.copyOf(negativeFilter);
    }

    /** Whether the event can change status at all (most events only go to the stream). */
    public static boolean affectsStatus(TalosEvent event) {
        Object p = event.payload();
        if (p instanceof AddressEvent || p instanceof ConfigLoadErrorEvent || p instanceof ConfigValidationErrorEvent) {
            return true;
        }
        if (p instanceof PhaseEvent e) {
            return e.getAction() == PhaseEvent.Action.START && (e.getPhase().equals("install") || e.getPhase().equals("saveConfig"));
        }
        if (p instanceof SequenceEvent e) {
            return (e.getSequence().equals("install") && e.getAction() == SequenceEvent.Action.NOOP && e.hasError() && e.getError().getCode() == Code.FATAL)
                    || (e.getSequence().equals("boot") && e.getAction() == SequenceEvent.Action.START);
        }
        return false;
    }

    /**
     * The status after {@code event}.
     *
     * @param tunnelAddress the node's SideroLink address, never reported as a machine address
     * @param now the transition time for conditions whose status changes
     */
    public NodeReport apply(NodeReport status, TalosEvent event, IPAddress tunnelAddress, Instant now) {
        Object p = event.payload();
        List<Condition> conditions = status.conditions();
        if (p instanceof AddressEvent e) {
            return new NodeReport(conditions, filter(e.getAddressesList(), tunnelAddress), e.getHostname());
        }
        if (p instanceof ConfigLoadErrorEvent e) {
            conditions = Condition.set(conditions, Condition.isFalse(CONFIG_LOADED, "TalosConfigLoadFailed", SEVERITY_ERROR, e.getError()), now);
        } else if (p instanceof ConfigValidationErrorEvent e) {
            conditions = Condition.set(conditions,
                    Condition.isFalse(CONFIG_VALIDATED, "TalosConfigValidationFailed", SEVERITY_ERROR, e.getError()), now);
        } else if (p instanceof PhaseEvent e && e.getAction() == PhaseEvent.Action.START && e.getPhase().equals("install")) {
            conditions = Condition.set(conditions, Condition.isFalse(INSTALLED, "TalosInstallationInProgress", SEVERITY_INFO, null), now);
        } else if (p instanceof PhaseEvent e && e.getAction() == PhaseEvent.Action.START && e.getPhase().equals("saveConfig")) {
            conditions = Condition.set(conditions, Condition.isTrue(CONFIG_VALIDATED), now);
            conditions = Condition.set(conditions, Condition.isTrue(CONFIG_LOADED), now);
        } else if (p instanceof SequenceEvent e && e.getSequence().equals("install") && e.getAction() == SequenceEvent.Action.NOOP
                && e.hasError() && e.getError().getCode() == Code.FATAL) {
            String message = e.getError().getMessage();
            conditions = message.contains("unix.Reboot")
                    // the installer ends by rebooting the node: the install succeeded
                    ? Condition.set(conditions, Condition.isTrue(INSTALLED), now)
                    : Condition.set(conditions, Condition.isFalse(INSTALLED, "TalosInstallationFailed", SEVERITY_ERROR, message), now);
        } else if (p instanceof SequenceEvent e && e.getSequence().equals("boot") && e.getAction() == SequenceEvent.Action.START) {
            conditions = Condition.set(conditions, Condition.isTrue(INSTALLED), now);
            conditions = Condition.set(conditions, Condition.isTrue(CONFIG_VALIDATED), now);
            conditions = Condition.set(conditions, Condition.isTrue(CONFIG_LOADED), now);
        } else {
            return status;
        }
        return conditions.equals(status.conditions()) ? status : new NodeReport(conditions, status.addresses(), status.hostname());
    }

    /** Reported addresses minus the tunnel address, unparsable ones and those in the negative filter; duplicates once. */
    List<String> filter(List<String> reported, IPAddress tunnelAddress) {
        Set<String> kept = new LinkedHashSet<>();
        for (String text : reported) {
            IPAddress address = new IPAddressString(text.trim(), PLAIN_IP).getAddress();
            if (address == null) {
                continue; // not a plain IP as Go's net.ParseIP sees it (empty, CIDR, 10.1, wildcards...)
            }
            IPAddress bare = address;
            if (tunnelAddress != null && bare.equals(tunnelAddress.withoutPrefixLength())) {
                continue;
            }
            if (negativeFilter.stream().anyMatch(block -> block.getIPVersion() == bare.getIPVersion() && block.contains(bare))) {
                continue;
            }
            kept.add(text.trim());
        }
        return new ArrayList<>(kept);
    }
}
