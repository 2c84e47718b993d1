package dev.parley.server.engine.llama;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

/**
 * How many physical cores this process may use: llama.cpp's decode threads spin on a barrier, so two of
 * them on the two hardware threads of one core only slow each other down.
 *
 * <p>On Linux, distinct (package, core) pairs among the CPUs this JVM may run on; elsewhere, or when that
 * cannot be read, the processors the JVM sees. Never more than {@link Runtime#availableProcessors()},
 * which follows container CPU quotas.
 */
final class Cores {
    private Cores() {}

    static int physical() {
        int available = Runtime.getRuntime().availableProcessors();
        Path cpus = Path.of("/sys/devices/system/cpu");
        if (!Files.isDirectory(cpus)) return available;
        Set<String> cores = new HashSet<>();
        try (Stream<Path> entries = Files.list(cpus)) {
            for (Path cpu : entries.filter(p -> p.getFileName().toString().matches("cpu[0-9]+"))
                    .toList()) {
                Path topology = cpu.resolve("topology");
                if (!Files.isDirectory(topology)) continue;
                String online = cpu.resolve("online").toFile().exists()
                        ? Files.readString(cpu.resolve("online")).strip()
                        : "1";
                if (!online.equals("1")) continue;
                cores.add(Files.readString(topology.resolve("physical_package_id"))
                                .strip() + ":"
                        + Files.readString(topology.resolve("core_id")).strip());
            }
        } catch (IOException | RuntimeException e) {
            return available;
        }
        return cores.isEmpty() ? available : Math.min(available, cores.size());
    }
}
