package dev.siderolink.server.provision;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Node input reaches the log: it must not be able to forge log lines or flood them. */
class ProvisionGrpcServiceTest {

    @Test
    void quotesAndEscapesControlCharactersSoANodeCannotForgeLogLines() {
        String forged = "x\n2026-11-26T12:00:00Z  INFO fake line \"quoted\" \\";
        String logged = ProvisionGrpcService.printable(forged);
        assertThat(logged).doesNotContain("\n").startsWith("\"x\\u000a2026").endsWith("\\u005c\"").contains("\\u0022quoted\\u0022");
    }

    @Test
    void cutsLongValues() {
        String logged = ProvisionGrpcService.printable("a".repeat(10_000));
        assertThat(logged).hasSize(80 + 2 + 3).endsWith("...\"");
    }

    @Test
    void leavesOrdinaryUuidsReadable() {
        assertThat(ProvisionGrpcService.printable("6b121f82-24a8-4611-9d23-fa1a5ba564f0")).isEqualTo("\"6b121f82-24a8-4611-9d23-fa1a5ba564f0\"");
    }
}
