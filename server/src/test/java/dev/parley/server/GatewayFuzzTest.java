package dev.parley.server;

import dev.parley.client.ClientOptions;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.engine.proxy.ProxyEngine;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link FuzzTest}'s campaign through a gateway: the hostile bodies go to a Parley relaying to another Parley that
 * serves the demo model. The gateway keeps each body's JSON tree and checks only what it relies on (the messages
 * it counts, the numbers it admits by), so what it passes on and what it answers itself must both hold: a 200 or an
 * OpenAI 4xx for every body, never a 5xx, the canary stream unchanged, every upstream slot free afterwards.
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
                        .withContextPerSequence(256)),
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
}
