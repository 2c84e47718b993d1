package dev.parley.server.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CountsTest {
    @Test
    void sumsSaturateInsteadOfWrappingAround() {
        var huge = new Counts(Long.MAX_VALUE - 1, Long.MAX_VALUE, 5);
        assertThat(huge.plus(new Counts(3, 1, 5))).isEqualTo(new Counts(Long.MAX_VALUE, Long.MAX_VALUE, 10));
    }

    @Test
    void aRequestNeverCountsNegativeTokens() {
        assertThat(Counts.ofRequest(-1, -5)).isEqualTo(new Counts(1, 0, 0));
    }

    @Test
    void costsArePerMillionTokensAndStayFiniteForAnyCount() {
        var price = Price.of(0.15, 0.60);
        assertThat(price.cost(1_000_000, 2_000_000)).isCloseTo(1.35, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(price.cost(Long.MAX_VALUE, Long.MAX_VALUE)).isFinite().isPositive();
        assertThat(new Counts(1, 10, 10).cost(null)).isZero();
    }

    @Test
    void pricesParseAsModelEqualsInputCommaOutput() {
        assertThat(Price.parseAll(List.of("gpt-4o-mini=0.15,0.60", "org/model=v2=1,2")))
                .isEqualTo(Map.of("gpt-4o-mini", Price.of(0.15, 0.60), "org/model=v2", Price.of(1, 2)));
        for (String bad : List.of(
                "demo",
                "=1,2",
                "demo=1",
                "demo=1,2,3",
                "demo=a,b",
                "demo=-1,2",
                "demo=NaN,1",
                "demo=1e400,1",
                "demo=Infinity,1")) {
            assertThatThrownBy(() -> Price.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
