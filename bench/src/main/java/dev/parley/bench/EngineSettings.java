package dev.parley.bench;

import dev.parley.bench.StreamClient.Endpoint;
import dev.parley.bench.StreamClient.Mode;
import dev.parley.server.engine.llama.KvCacheType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** {@link EngineBenchmark}'s command line; see its class comment. {@code llamaServer} is null when not given. */
record EngineSettings(
        int tokens,
        int rounds,
        List<Integer> streams,
        List<Integer> threads,
        List<Mode> modes,
        List<String> parts,
        int ttftRuns,
        int startRuns,
        int context,
        int conversations,
        int cacheRam,
        KvCacheType kvCache,
        Endpoint endpoint,
        Path parleyJar,
        Path llamaServer) {

    static EngineSettings parse(String[] args) {
        String llamaServer = flag(args, "--llama-server", null);
        return new EngineSettings(
                Integer.parseInt(flag(args, "--tokens", "64")),
                Integer.parseInt(flag(args, "--rounds", "3")),
                integers(flag(args, "--streams", "1,4,8,16")),
                integers(flag(args, "--threads", "1,2")),
                Arrays.stream(flag(args, "--modes", "greedy,sampling").split(","))
                        .map(m -> Mode.valueOf(m.toUpperCase()))
                        .toList(),
                List.of(flag(args, "--parts", "throughput,ttft,turns,newcomers,memory,start")
                        .split(",")),
                Integer.parseInt(flag(args, "--ttft-runs", "30")),
                Integer.parseInt(flag(args, "--start-runs", "10")),
                Integer.parseInt(flag(args, "--context", "256")),
                Integer.parseInt(flag(args, "--conversations", "3")),
                Integer.parseInt(flag(args, "--cache-ram", "0")),
                KvCacheType.valueOf(flag(args, "--kv-cache", "f32").toUpperCase()),
                Endpoint.valueOf(flag(args, "--endpoint", "completions").toUpperCase()),
                Path.of(flag(args, "--parley-jar", "cli/target/parley.jar")),
                llamaServer == null ? null : Path.of(llamaServer));
    }

    /** Slots of every server: enough for the most streams, at least 16. */
    int parallel() {
        return Math.max(16, streams.stream().mapToInt(Integer::intValue).max().orElse(16));
    }

    boolean has(String part) {
        return parts.contains(part);
    }

    @Override
    public String toString() {
        return ("%d tokens per stream, %d rounds, streams %s, threads %s, %s, %s endpoint, %d context per sequence,"
                        + " %s KV cache, %d MB prompt cache%s")
                .formatted(
                        tokens,
                        rounds,
                        streams,
                        threads,
                        modes.stream().map(Mode::label).toList(),
                        endpoint.name().toLowerCase(),
                        context,
                        kvCache,
                        cacheRam,
                        llamaServer == null ? "" : ", llama-server " + llamaServer);
    }

    private static String flag(String[] args, String name, String fallback) {
        for (int i = 0; i + 1 < args.length; i++) if (args[i].equals(name)) return args[i + 1];
        return fallback;
    }

    private static List<Integer> integers(String list) {
        return Arrays.stream(list.split(",")).map(Integer::parseInt).toList();
    }
}
