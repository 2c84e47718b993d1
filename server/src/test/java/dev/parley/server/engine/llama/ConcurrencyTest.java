package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.server.demo.DemoModel;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Platform threads on purpose: a native call pins its virtual thread's carrier, and these loops never
 * block, so on a two-core machine two of them would keep every carrier and starve the rest.
 */
@Timeout(60)
class ConcurrencyTest {
    @Test
    void closingAModelWhileOtherThreadsUseItStopsThemWithIllegalStateOnly() throws InterruptedException {
        LlamaModel model = LlamaModel.open(DemoModel.path());
        int workers = 4;
        CountDownLatch working = new CountDownLatch(workers);
        ConcurrentLinkedQueue<Throwable> endings = new ConcurrentLinkedQueue<>();
        try (ExecutorService threads =
                Executors.newThreadPerTaskExecutor(Thread.ofPlatform().factory())) {
            for (int w = 0; w < workers; w++) {
                int worker = w;
                threads.submit(() -> {
                    try {
                        for (int i = 0; ; i++) {
                            if (worker % 2 == 0) {
                                model.detokenize(model.tokenize("Once upon a time 😀", true, false));
                                model.applyChatTemplate(List.of(ChatTurn.user("hi")), true);
                            } else {
                                try (LlamaContext context =
                                                model.newContext(Generate.ONE_THREAD.withContextLength(64));
                                        Sampler sampler = model.newSampler(SamplingOptions.seeded(i))) {
                                    Generate.tokens(model, context, sampler, "Once", 0, 4);
                                }
                            }
                            if (i == 0) {
                                working.countDown();
                            }
                        }
                    } catch (Throwable e) {
                        endings.add(e);
                    }
                });
            }
            assertThat(working.await(30, TimeUnit.SECONDS)).isTrue();
            model.close();
        }
        assertThat(endings).hasSize(workers).allSatisfy(e -> assertThat(e).isInstanceOf(IllegalStateException.class));
    }

    @Test
    void oneContextServesSeveralThreadsOneCallAtATime() throws InterruptedException {
        try (LlamaModel model = LlamaModel.open(DemoModel.path());
                LlamaContext context = model.newContext(
                        Generate.ONE_THREAD.withContextLength(512).withMaxSequences(4))) {
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            try (ExecutorService threads =
                    Executors.newThreadPerTaskExecutor(Thread.ofPlatform().factory())) {
                for (int seq = 0; seq < 4; seq++) {
                    int sequenceId = seq;
                    threads.submit(() -> {
                        try {
                            for (int pos = 0; pos < 50; pos++) {
                                context.decode(List.of(new BatchToken(300 + sequenceId, pos, sequenceId, false)));
                            }
                            context.clearSequence(sequenceId);
                        } catch (Throwable e) {
                            failures.add(e);
                        }
                    });
                }
            }
            assertThat(failures).isEmpty();
            for (int id = 0; id < context.maxSequences(); id++)
                assertThat(context.sequenceLength(id)).isZero();
        }
    }
}
