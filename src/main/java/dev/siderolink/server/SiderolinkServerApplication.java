package dev.siderolink.server;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The SideroLink server: one jar, the parts selected by {@code siderolink.components}. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class SiderolinkServerApplication {

    public static void main(String[] args) {
        SpringApplication.run(SiderolinkServerApplication.class, args);
    }
}
