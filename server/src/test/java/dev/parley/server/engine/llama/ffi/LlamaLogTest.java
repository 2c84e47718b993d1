package dev.parley.server.engine.llama.ffi;

import static org.assertj.core.api.Assertions.assertThatCode;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class LlamaLogTest {
    @Test
    void callbackNeverThrowsWhateverNativeCodeSends() {
        try (Arena arena = Arena.ofConfined()) {
            for (int level = -1; level <= 6; level++) {
                int l = level;
                assertThatCode(() -> {
                            LlamaLog.callback(l, arena.allocateFrom("a piece without newline"), MemorySegment.NULL);
                            LlamaLog.callback(
                                    5, arena.allocateFrom(" continued\nand another line\n"), MemorySegment.NULL);
                            LlamaLog.callback(l, MemorySegment.NULL, MemorySegment.NULL);
                            LlamaLog.callback(l, arena.allocateFrom(""), MemorySegment.NULL);
                            LlamaLog.callback(l, arena.allocateFrom("\u00e9\ud83d\ude00 \n\n"), MemorySegment.NULL);
                        })
                        .doesNotThrowAnyException();
            }
        }
    }
}
