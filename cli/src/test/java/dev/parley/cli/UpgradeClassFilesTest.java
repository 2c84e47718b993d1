package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The build step that rewrites picocli's Java 5 class files (tools/UpgradeClassFiles.java), run on the picocli
 * jar this module is built against: the classes come out as Java 8 ones, and parley behaves the same on them,
 * help, parse errors and a command's run alike.
 */
class UpgradeClassFilesTest {
    @TempDir
    Path dir;

    @Test
    void picocliComesOutAsJava8ClassesThatParleyRunsTheSameOn() throws Exception {
        Path original = Path.of(CommandLine.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .toURI());
        Path upgraded = Files.copy(original, dir.resolve("picocli.jar"));
        Map<String, Integer> before = majorVersions(original);
        assertThat(before.values()).as("picocli still ships Java 5 class files").contains(49);

        Result tool = java(
                List.of(Path.of("..", "tools", "UpgradeClassFiles.java").toString(), upgraded.toString(), "picocli/"));
        assertThat(tool.exit()).as(tool.output()).isZero();
        assertThat(tool.output()).contains(before.size() + " class files of [picocli/]");

        Map<String, Integer> after = majorVersions(upgraded);
        assertThat(after.keySet()).containsExactlyElementsOf(before.keySet());
        assertThat(after.values()).containsOnly(52);
        try (JarFile a = new JarFile(original.toFile());
                JarFile b = new JarFile(upgraded.toFile())) {
            assertThat(b.stream().map(e -> e.getName()).toList())
                    .containsExactlyElementsOf(a.stream().map(e -> e.getName()).toList());
            for (var entry :
                    a.stream().filter(e -> !e.getName().endsWith(".class")).toList()) {
                assertThat(b.getInputStream(b.getEntry(entry.getName())).readAllBytes())
                        .as(entry.getName())
                        .isEqualTo(a.getInputStream(entry).readAllBytes());
            }
        }

        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String swapped = Arrays.stream(classPath.split(File.pathSeparator))
                .map(entry -> Path.of(entry).equals(original) ? upgraded.toString() : entry)
                .collect(Collectors.joining(File.pathSeparator));
        assertThat(swapped).contains(upgraded.toString());
        for (List<String> args : List.of(
                List.of("--help"),
                List.of("serve", "--help"),
                List.of("serve", "--port", "eighty"),
                List.of("keys", "usage", "--from", "2026-13-01"),
                List.of("tokens", "--model", "gpt-4", "Hello, world"))) {
            Result expected = parley(classPath, args);
            Result actual = parley(swapped, args);
            assertThat(actual).as(String.join(" ", args)).isEqualTo(expected);
        }
    }

    record Result(int exit, String output) {}

    private static Map<String, Integer> majorVersions(Path jar) throws Exception {
        Map<String, Integer> versions = new LinkedHashMap<>();
        try (JarFile file = new JarFile(jar.toFile())) {
            for (var entry : file.stream().toList()) {
                if (entry.getName().startsWith("picocli/") && entry.getName().endsWith(".class")) {
                    byte[] bytes = file.getInputStream(entry).readAllBytes();
                    versions.put(entry.getName(), ((bytes[6] & 0xff) << 8) | (bytes[7] & 0xff));
                }
            }
        }
        return versions;
    }

    private static Result parley(String classPath, List<String> args) throws Exception {
        List<String> command = new ArrayList<>(List.of("-cp", classPath, "dev.parley.cli.Main"));
        command.addAll(args);
        return java(command);
    }

    private static Result java(List<String> args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(args);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(process.exitValue(), output);
    }
}
