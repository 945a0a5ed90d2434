package dev.siderolink.server.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/** What every load generator needs of processes: CPU times, and a watchdog so a run always ends. */
final class BenchProcess {

    private BenchProcess() {}

    /**
     * CPU time of process {@code pid} from /proc (user + system, or system only), or -1 when
     * {@code pid} is 0 (not asked for) or the file is unreadable.
     */
    static long cpuMillis(long pid, boolean systemOnly, long clockTicks) {
        if (pid == 0) {
            return -1;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // fields after the parenthesised command name; utime and stime are fields 14 and 15
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = (systemOnly ? 0 : Long.parseLong(fields[11])) + Long.parseLong(fields[12]);
            return ticks * 1000 / clockTicks;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** CPU time this JVM has used so far, or -1 when the platform does not say. */
    static long ownCpuMillis() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            long nanos = os.getProcessCpuTime();
            return nanos < 0 ? -1 : nanos / 1_000_000;
        }
        return -1;
    }

    /** Ends the JVM (exit 3, a {@code RESULT status=watchdog} line) if the run takes longer than {@code budgetMillis}. */
    static void startWatchdog(String generator, long budgetMillis) {
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(budgetMillis);
            } catch (InterruptedException e) {
                return;
            }
            System.err.println(generator + ": watchdog: run exceeded " + budgetMillis + " ms, giving up");
            System.out.println("RESULT status=watchdog");
            System.out.flush();
            Runtime.getRuntime().halt(3);
        }, "watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }
}
