package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.client.ClientOptions;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.engine.proxy.ProxyEngine;
import java.net.http.HttpClient;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link FuzzTest}'s campaign through a gateway: the hostile bodies go to a Parley relaying to another Parley that
 * serves the demo model. The gateway keeps each body's JSON tree and checks only what it relies on (the messages
 * it counts, the numbers it admits by), so what it passes on and what it answers itself must both hold: a 200 or an
 * OpenAI 4xx for every body, never a 5xx, the canary stream unchanged, every upstream slot free afterwards. The
 * same holds for hostile embeddings and Responses API bodies, which the gateway counts and relays without a typed
 * reading of its own (the upstream serves embeddings, and answers the Responses API from its chat).
 */
@Timeout(300)
class GatewayFuzzTest {
    /** Half of the direct campaign's: the engine behind is the same, only the gateway's own checks are new here. */
    static final int BODIES = Integer.getInteger("parley.fuzz.bodies", 500);

    static ParleyServer upstream;
    static ParleyServer gateway;

    @BeforeAll
    static void start() {
        upstream = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId("demo")
                        .withParallel(FuzzTest.PARALLEL)
                        .withContextPerSequence(256)
                        .withEmbeddings(true)),
                "127.0.0.1",
                0);
        var options = ClientOptions.builder(name -> null)
                .baseUrl(upstream.baseUrl("127.0.0.1"))
                .apiKey("test")
                .maxRetries(0)
                .build();
        gateway = ParleyServer.start(ProxyEngine.connect(options, List.of()), "127.0.0.1", 0);
    }

    @AfterAll
    static void stop() {
        gateway.close();
        upstream.close();
    }

    @Test
    void everyHostileBodyThroughTheGatewayIsAnsweredWithA200OrAn4xxWhileACanaryStreamIsUndisturbed() throws Exception {
        FuzzTest.campaign(gateway.port(), BODIES);
    }

    @Test
    void everyHostileEmbeddingsAndResponsesBodyThroughTheGatewayIsAnsweredWithA200OrAn4xx() throws Exception {
        var generator = new HostileBodies(FuzzTest.SEED);
        List<FuzzTest.Sent> bodies = new ArrayList<>();
        for (int i = 0; i < BODIES / 2; i++) {
            bodies.add(new FuzzTest.Sent("/v1/embeddings", generator.embeddings()));
            bodies.add(new FuzzTest.Sent("/v1/responses", generator.response()));
        }
        var failures = new ConcurrentLinkedQueue<String>();
        var answers = new ConcurrentHashMap<String, LongAdder>();
        try (var http = HttpClient.newHttpClient()) {
            var target = new FuzzTest.Target(http, gateway.port());
            for (FuzzTest.Sent sent : bodies) FuzzTest.check(target, sent, failures, answers);
            System.out.println("GatewayFuzzTest answers " + new TreeMap<>(answers));
            assertThat(failures).as("seed " + FuzzTest.SEED).isEmpty();
            assertThat(answers).containsKeys("/v1/embeddings 200", "/v1/responses 200", "/v1/responses 400");
            FuzzTest.assertEverySlotIsFree(target);
        }
    }
}
