package dev.parley.server.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.parley.api.Json;
import dev.parley.server.config.ServerConfig.LocalModel;
import dev.parley.server.config.ServerConfig.Replica;
import dev.parley.server.config.ServerConfig.Upstream;
import dev.parley.server.config.ServerConfig.UpstreamModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reads a configuration file ({@code parley serve --config parley.yaml}) and checks it whole before anything is
 * opened: a key the file format does not have, or a value of the wrong type, is an error naming its line; a value
 * out of range, a duplicate model name or a fallback to no model is an error naming where it is. Relative paths are
 * resolved from the file's folder; {@code ${NAME}} in URLs and API keys is replaced by the environment variable
 * (unset: an error), so that secrets need not be written in the file.
 */
public final class ConfigFile {
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");
    private static final ObjectMapper MAPPER = YAMLMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT) // port: 80.5 is a slip, not port 80
            .build();

    private ConfigFile() {}

    /**
     * The configuration in {@code file}, checked, with paths resolved and variables replaced from the process's
     * environment.
     *
     * @throws IllegalArgumentException naming the file, and the line or place, of what is wrong
     */
    public static ServerConfig read(Path file) {
        return read(file, System::getenv);
    }

    /** As {@link #read(Path)}, reading variables from {@code env}. */
    public static ServerConfig read(Path file, Function<String, String> env) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + reason(e), e);
        }
        return parse(text, file, env);
    }

    /** The configuration in {@code text}, as if read from {@code file}. */
    static ServerConfig parse(String text, Path file, Function<String, String> env) {
        // Nothing but comments and blank lines: the parser would say "No content to map due to end-of-input".
        if (text.lines().allMatch(line -> line.isBlank() || line.strip().startsWith("#")))
            throw new IllegalArgumentException(file + ": the file is empty");
        ServerConfig config;
        try {
            config = MAPPER.readValue(text, ServerConfig.class);
        } catch (UnrecognizedPropertyException e) {
            throw new IllegalArgumentException("%s:%d: unknown key '%s'%s; the keys there are: %s"
                    .formatted(
                            file,
                            lineOfKey(text, e.getPropertyName(), line(e.getLocation())),
                            e.getPropertyName(),
                            Json.where(e),
                            e.getKnownPropertyIds().stream()
                                    .map(Object::toString)
                                    .sorted()
                                    .collect(Collectors.joining(", "))));
        } catch (JsonMappingException e) {
            if (e.getCause() instanceof JsonProcessingException syntax) { // the YAML itself, met while mapping
                throw new IllegalArgumentException(
                        "%s:%d: not valid YAML: %s".formatted(file, line(syntax.getLocation()), Json.problem(syntax)));
            }
            throw new IllegalArgumentException(
                    "%s:%d: %s%s".formatted(file, line(e.getLocation()), Json.problem(e), Json.where(e)));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(
                    "%s:%d: not valid YAML: %s".formatted(file, line(e.getLocation()), Json.problem(e)));
        }
        if (config == null) throw new IllegalArgumentException(file + ": the file is empty");
        Path folder = file.toAbsolutePath().getParent();
        return new Checker(file, folder, env).check(config);
    }

    /** Checks a configuration as written and makes it ready to open. */
    private record Checker(Path file, Path folder, Function<String, String> env) {

        ServerConfig check(ServerConfig config) {
            if (config.models().isEmpty() && config.upstreams().isEmpty())
                throw error("no models: list local models under 'models' or upstream fleets under 'upstreams'");
            Set<String> names = new HashSet<>();
            List<LocalModel> models = new ArrayList<>();
            for (int i = 0; i < config.models().size(); i++)
                models.add(local(config.models().get(i), i, names));
            List<Upstream> upstreams = new ArrayList<>();
            Set<String> fleets = new HashSet<>();
            for (int i = 0; i < config.upstreams().size(); i++) {
                Upstream upstream = upstream(config.upstreams().get(i), i, names);
                if (!fleets.add(upstream.name())) throw error("two upstreams are named " + upstream.name());
                upstreams.add(upstream);
            }
            boolean listedAtStart = upstreams.stream().anyMatch(u -> u.models() == null);
            for (LocalModel model : models) fallbacks(model.id(), model.fallbacks(), names, listedAtStart);
            for (Upstream upstream : upstreams) {
                if (upstream.models() == null) continue;
                for (UpstreamModel model : upstream.models())
                    fallbacks(model.id(), model.fallbacks(), names, listedAtStart);
            }
            return new ServerConfig(
                    server(config.server()),
                    config.keys() == null ? null : path(config.keys()),
                    redis(config.redis()),
                    llama(config.llama()),
                    models,
                    upstreams);
        }

        private ServerConfig.Server server(ServerConfig.Server server) {
            if (server == null) return null;
            if (server.port() != null && (server.port() < 0 || server.port() > 65_535))
                throw error("server.port must be between 0 and 65535, not " + server.port());
            if (server.shutdownTimeout() != null && (server.shutdownTimeout() < 0 || server.shutdownTimeout() > 86_400))
                throw error(
                        "server.shutdown_timeout must be between 0 and 86400 seconds, not " + server.shutdownTimeout());
            if (server.logFormat() != null && !server.logFormat().matches("text|json"))
                throw error("server.log_format is text or json, not " + server.logFormat());
            if (server.sseKeepalive() != null && !(server.sseKeepalive() >= 0 && server.sseKeepalive() <= 3600))
                throw error("server.sse_keepalive must be between 0 (never) and 3600 seconds, not "
                        + server.sseKeepalive());
            if (server.keepResponses() != null && (server.keepResponses() < 0 || server.keepResponses() > 3650))
                throw error(
                        "server.keep_responses must be between 0 (none) and 3650 days, not " + server.keepResponses());
            if (server.tlsKey() != null && server.tlsCert() == null)
                throw error("server.tls_key needs server.tls_cert, the certificate it belongs to");
            return new ServerConfig.Server(
                    server.host(),
                    server.port(),
                    server.corsOrigins(),
                    server.dataDir() == null ? null : path(server.dataDir()),
                    server.shutdownTimeout(),
                    server.logFormat(),
                    server.sseKeepalive(),
                    server.tlsCert() == null ? null : path(server.tlsCert()),
                    server.tlsKey() == null ? null : path(server.tlsKey()),
                    server.keepResponses());
        }

        private ServerConfig.Redis redis(ServerConfig.Redis redis) {
            if (redis == null) return null;
            if (redis.url() == null) throw error("redis.url is missing");
            String url = expand(redis.url(), "redis.url");
            if (!url.matches("rediss?://\\S+")) throw error("redis.url is redis://host:port, not " + url);
            return new ServerConfig.Redis(url, redis.failOpen());
        }

        private ServerConfig.Llama llama(ServerConfig.Llama llama) {
            if (llama == null) return null;
            return new ServerConfig.Llama(llama.lib() == null ? null : path(llama.lib()), llama.variant());
        }

        private LocalModel local(LocalModel model, int index, Set<String> names) {
            String at = "models[%d]".formatted(index);
            if (model == null) throw error(at + " is empty");
            String id = required(model.id(), at + ".id");
            at = "models[%d] (%s)".formatted(index, id);
            name(id, at, names);
            for (String alias : model.aliases()) name(alias, at + " alias", names);
            String file = path(required(model.file(), at + ".file"));
            if (!Files.isRegularFile(Path.of(file))) throw error(at + ": no model file at " + file);
            range(model.parallel(), 1, LlamaEngineOptions.MAX_PARALLEL, at + ".parallel");
            range(model.context(), 0, LlamaEngineOptions.MAX_CONTEXT, at + ".context");
            range(model.threads(), 0, LlamaEngineOptions.MAX_THREADS, at + ".threads");
            range(model.queue(), 1, 1 << 20, at + ".queue");
            range(model.gpuLayers(), -1, 1 << 16, at + ".gpu_layers");
            range(model.cacheRamMb(), 0, LlamaEngineOptions.MAX_CACHE_MB, at + ".cache_ram_mb");
            try {
                LlamaEngine.checkChatTemplateKwargs(model.chatTemplateKwargs());
            } catch (IllegalArgumentException e) {
                throw error(at + ": " + e.getMessage());
            }
            return new LocalModel(
                    id,
                    file,
                    model.aliases(),
                    model.parallel(),
                    model.context(),
                    model.threads(),
                    model.kvCache(),
                    model.queue(),
                    model.gpuLayers(),
                    model.embeddings(),
                    model.cacheRamMb(),
                    model.swaFull(),
                    model.chatTemplateKwargs(),
                    model.price(),
                    model.fallbacks());
        }

        private Upstream upstream(Upstream upstream, int index, Set<String> names) {
            String at = "upstreams[%d]".formatted(index);
            if (upstream == null) throw error(at + " is empty");
            String name = required(upstream.name(), at + ".name");
            at = "upstream " + name;
            if (upstream.baseUrls().isEmpty()) throw error(at + ": base_urls lists no replica");
            List<Replica> replicas = new ArrayList<>();
            for (Replica replica : upstream.baseUrls()) {
                if (replica == null || replica.url() == null) throw error(at + ": a replica has no url");
                String url = expand(replica.url(), at + " url");
                if (!url.matches("https?://\\S+"))
                    throw error(at + ": a base URL is http(s)://host[:port][/path], not " + url);
                if ((replica.rpm() == null) != (replica.tpm() == null))
                    throw error(at + ", replica " + url + ": rpm and tpm go together");
                if (replica.rpm() != null && (replica.rpm() < 1 || replica.tpm() < 1))
                    throw error(at + ", replica " + url + ": rpm and tpm must be at least 1");
                replicas.add(new Replica(
                        url,
                        replica.apiKey() == null ? null : expand(replica.apiKey(), at + " api_key"),
                        replica.rpm(),
                        replica.tpm()));
            }
            positive(upstream.firstByteTimeout(), at + ".first_byte_timeout");
            positive(upstream.connectTimeout(), at + ".connect_timeout");
            positive(upstream.idleTimeout(), at + ".idle_timeout");
            positive(upstream.cooldown(), at + ".cooldown");
            range(upstream.outputReserve(), 1, Integer.MAX_VALUE, at + ".output_reserve");
            List<UpstreamModel> models = null;
            if (upstream.models() != null) {
                if (upstream.models().isEmpty())
                    throw error(at + ": models is empty (leave it out to serve every model the upstream lists)");
                models = new ArrayList<>();
                for (UpstreamModel model : upstream.models()) {
                    if (model == null) throw error(at + ": a model is empty");
                    String id = required(model.id(), at + " model id");
                    name(id, at + ", model " + id, names);
                    for (String alias : model.aliases()) name(alias, at + ", model " + id + " alias", names);
                    range(model.outputReserve(), 1, Integer.MAX_VALUE, at + ", model " + id + ".output_reserve");
                    models.add(model);
                }
            }
            return new Upstream(
                    name,
                    replicas,
                    upstream.apiKey() == null ? null : expand(upstream.apiKey(), at + " api_key"),
                    upstream.firstByteTimeout(),
                    upstream.connectTimeout(),
                    upstream.idleTimeout(),
                    upstream.cooldown(),
                    upstream.outputReserve(),
                    models,
                    upstream.caCert() == null ? null : path(upstream.caCert()));
        }

        /** Fallbacks name models of this file; those of a fleet that lists its models at start are checked then. */
        private void fallbacks(String id, List<String> fallbacks, Set<String> names, boolean listedAtStart) {
            for (String fallback : fallbacks) {
                if (fallback.equals(id)) throw error("model " + id + " falls back to itself");
                if (!names.contains(fallback) && !listedAtStart)
                    throw error("model " + id + ": its fallback " + fallback + " is not a model of this file");
            }
        }

        private void name(String name, String at, Set<String> names) {
            if (name == null || name.isBlank()) throw error(at + ": a model name is empty");
            // An alias that repeats its own model's id, or another's id or alias: every name must lead to one model.
            if (!names.add(name)) throw error(at + ": " + name + " is already the name of a model or an alias");
        }

        private String required(String value, String at) {
            if (value == null || value.isBlank()) throw error(at + " is missing");
            return value;
        }

        private void range(Integer value, long min, long max, String at) {
            if (value != null && (value < min || value > max))
                throw error("%s must be between %d and %d, not %d".formatted(at, min, max, value));
        }

        private void positive(Double seconds, String at) {
            if (seconds != null && !(seconds > 0 && seconds <= 86_400))
                throw error(at + " must be more than 0 and at most 86400 seconds, not " + seconds);
        }

        private String path(String value) {
            return folder.resolve(value).normalize().toString();
        }

        /** {@code ${NAME}} replaced by the environment variable NAME. */
        private String expand(String value, String at) {
            Matcher matcher = VARIABLE.matcher(value);
            StringBuilder out = new StringBuilder();
            while (matcher.find()) {
                String set = env.apply(matcher.group(1));
                if (set == null) throw error(at + " uses ${" + matcher.group(1) + "}, which is not set");
                matcher.appendReplacement(out, Matcher.quoteReplacement(set));
            }
            return matcher.appendTail(out).toString();
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException(file + ": " + what);
        }
    }

    /**
     * The line where {@code key} is written, at or before the line the parser reports: a mapping read into a record
     * is read whole before its keys are checked, so the parser stands at its end.
     */
    private static int lineOfKey(String text, String key, int reported) {
        Pattern written = Pattern.compile("^\\s*(?:-\\s+)?[\"']?" + Pattern.quote(key) + "[\"']?\\s*:");
        String[] lines = text.split("\n", -1);
        for (int i = Math.min(reported, lines.length) - 1; i >= 0; i--) {
            if (written.matcher(lines[i]).find()) return i + 1;
        }
        return reported;
    }

    private static int line(JsonLocation location) {
        return location == null ? 0 : location.getLineNr();
    }

    private static String reason(IOException e) {
        return e instanceof java.nio.file.NoSuchFileException
                ? "no such file"
                : e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
