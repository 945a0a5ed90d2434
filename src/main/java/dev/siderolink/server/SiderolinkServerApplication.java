package dev.siderolink.server;

import dev.siderolink.server.talosapi.TalosconfigCommand;
import java.util.Arrays;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * The SideroLink server: one jar, the parts selected by {@code siderolink.components}. With
 * {@code talosconfig} as the first argument it writes a talosconfig instead ({@link TalosconfigCommand}).
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class SiderolinkServerApplication {

    public static void main(String[] args) {
        if (args.length > 0 && TalosconfigCommand.NAME.equals(args[0])) {
            System.exit(TalosconfigCommand.run(Arrays.copyOfRange(args, 1, args.length), System.out, System.err));
        }
        SpringApplication.run(SiderolinkServerApplication.class, args);
    }
}
