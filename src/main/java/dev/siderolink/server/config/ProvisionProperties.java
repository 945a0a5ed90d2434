package dev.siderolink.server.config;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Provisioning policy.
 *
 * @param joinToken when set, Provision requires it ({@code siderolink.api=host:port?jointoken=...}
 *     on the node); empty turns the check off
 */
@Validated
@ConfigurationProperties("siderolink.provision")
public record ProvisionProperties(@DefaultValue("") String joinToken) {

    public boolean requiresJoinToken() {
        return joinToken != null && !joinToken.isEmpty();
    }

    /** Never prints the token: properties get logged by frameworks and people. */
    @Override
    public String toString() {
        return "ProvisionProperties[joinToken=" + (requiresJoinToken() ? "<set>" : "<none>") + "]";
    }
}
