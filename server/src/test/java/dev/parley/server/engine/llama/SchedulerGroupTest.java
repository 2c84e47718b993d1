package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which of the ready sequences a step smaller than all of them takes: slots in a row, the longest waiting in. */
class SchedulerGroupTest {

    @Test
    void allTheReadyWhenTheGroupTakesThemAll() {
        assertThat(Scheduler.group(List.of(5, 1, 3), 3, Integer::intValue)).containsExactly(5, 1, 3);
    }

    @Test
    void theLongestWaitingAndTheSlotsAfterIt() {
        // Listed longest waiting first, as the scheduler lists them; slots 0..7.
        assertThat(Scheduler.group(List.of(2, 7, 0, 5, 1, 6, 3, 4), 4, Integer::intValue))
                .containsExactly(2, 3, 4, 5);
        assertThat(Scheduler.group(List.of(6, 7, 0, 5, 1, 2, 3, 4), 4, Integer::intValue)) // near the end: before it
                .containsExactly(4, 5, 6, 7);
    }

    @Test
    void roundRobinServesEverySlotEqually() {
        List<Integer> slots = List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        for (int k : new int[] {1, 2, 3, 4, 5, 7}) {
            Map<Integer, Long> lastStep = new HashMap<>();
            Map<Integer, Integer> served = new HashMap<>();
            for (int slot : slots) lastStep.put(slot, 0L);
            for (long step = 1; step <= 1200; step++) {
                List<Integer> ready = new ArrayList<>(slots);
                ready.sort((a, b) -> Long.compare(lastStep.get(a), lastStep.get(b))); // stable: ties by slot
                for (int slot : Scheduler.group(ready, k, Integer::intValue)) {
                    lastStep.put(slot, step);
                    served.merge(slot, 1, Integer::sum);
                }
            }
            // Nobody starves; with slots that do not divide into groups evenly, some are served up to twice as often.
            int least = served.values().stream().min(Integer::compare).orElseThrow();
            int most = served.values().stream().max(Integer::compare).orElseThrow();
            assertThat(served).as("k=%d", k).hasSize(slots.size());
            assertThat(most).as("k=%d", k).isLessThanOrEqualTo(2 * least);
        }
    }
}
