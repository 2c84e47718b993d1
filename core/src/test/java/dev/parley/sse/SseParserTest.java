package dev.parley.sse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseParserTest {

    @Test
    void aLineOrAnEventLongerThanTheBoundIsRefusedNotHeld() {
        var unterminated = new SseParser(10);
        unterminated.feed("data: 12");
        assertThatThrownBy(() -> unterminated.feed("345"))
                .isInstanceOf(SseParser.TooLongException.class)
                .hasMessage("an event of the stream is longer than 10 characters");
        var manyLines = new SseParser(10);
        manyLines.feed("data: 1234\ndata: 5678\n");
        assertThatThrownBy(() -> manyLines.feed("data: 9\n")).isInstanceOf(SseParser.TooLongException.class);
        var atTheBound = new SseParser(10);
        assertThat(atTheBound.feed("data: 12345\ndata: 6789\n\n")).containsExactly(SseEvent.data("12345\n6789"));
    }

    @Test
    void dispatchesADataEventOnABlankLine() {
        assertThat(SseParser.parseAll("data: {\"a\":1}\n\n")).containsExactly(SseEvent.data("{\"a\":1}"));
    }

    @Test
    void joinsMultiLineDataWithNewlines() {
        assertThat(SseParser.parseAll("data: {\"a\":\r\ndata: 1}\r\n\r\n"))
                .containsExactly(SseEvent.data("{\"a\":\n1}"));
    }

    @Test
    void acceptsCrLfAndCrlfLineEndingsAlike() {
        var expected = List.of(SseEvent.data("a"), SseEvent.data("b"), SseEvent.data("c"));
        assertThat(SseParser.parseAll("data: a\n\ndata: b\r\rdata: c\r\n\r\n")).isEqualTo(expected);
    }

    @Test
    void ignoresCommentsAndKeepAlivePings() {
        var events = SseParser.parseAll(": ping\n\n:\n\ndata: x\n: inside an event\ndata: y\n\n");
        assertThat(events).containsExactly(SseEvent.data("x\ny"));
    }

    @Test
    void readsEventIdAndRetryFields() {
        var events = SseParser.parseAll("event: update\nid: 7\nretry: 1500\ndata: x\n\n");
        assertThat(events).containsExactly(new SseEvent("update", "7", "x", 1500L));
    }

    @Test
    void keepsTheLastIdForLaterEventsButNotTheTypeOrRetry() {
        var events = SseParser.parseAll("event: e\nid: 1\nretry: 10\ndata: a\n\ndata: b\n\n");
        assertThat(events).containsExactly(new SseEvent("e", "1", "a", 10L), new SseEvent(null, "1", "b", null));
    }

    @Test
    void ignoresARetryThatIsNotAllDigitsAndAnIdWithNul() {
        var events = SseParser.parseAll("retry: 1s\nid: a\0b\ndata: x\n\n");
        assertThat(events).containsExactly(SseEvent.data("x"));
    }

    @Test
    void readsAFieldWithoutColonAsAnEmptyValue() {
        assertThat(SseParser.parseAll("data\n\n")).containsExactly(SseEvent.data(""));
        assertThat(SseParser.parseAll("data\ndata\n\n")).containsExactly(SseEvent.data("\n"));
    }

    @Test
    void stripsOnlyOneLeadingSpace() {
        assertThat(SseParser.parseAll("data:  two\ndata:none\n\n")).containsExactly(SseEvent.data(" two\nnone"));
    }

    @Test
    void dispatchesNothingForABlockWithoutData() {
        assertThat(SseParser.parseAll("event: ping\n\nid: 3\n\n\n\n")).isEmpty();
    }

    @Test
    void ignoresUnknownFields() {
        assertThat(SseParser.parseAll("foo: bar\ndata: x\n\n")).containsExactly(SseEvent.data("x"));
    }

    @Test
    void dropsAnEventThatTheStreamEndsBeforeItsBlankLine() {
        assertThat(SseParser.parseAll("data: a\n\ndata: cut")).containsExactly(SseEvent.data("a"));
        assertThat(SseParser.parseAll("data: a\n\ndata: cut\n")).containsExactly(SseEvent.data("a"));
    }

    @Test
    void findsLinesSplitAnywhereAcrossPiecesIncludingBetweenCrAndLf() {
        byte[] bytes = "data: h\u00e9llo\r\ndata: w\r\n\r\n: ka\r\ndata: [DONE]\r\n\r\n"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        String text = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
        for (int split = 0; split <= text.length(); split++) {
            var parser = new SseParser();
            var events = new ArrayList<SseEvent>(parser.feed(text.substring(0, split)));
            events.addAll(parser.feed(text.substring(split)));
            assertThat(events)
                    .as("split at %d", split)
                    .containsExactly(SseEvent.data("h\u00e9llo\nw"), SseEvent.data("[DONE]"));
        }
    }

    @Test
    void givesTheSameEventsHoweverTheStreamIsCutIntoPieces() {
        String text = "\uFEFFevent: a\rdata: one\r\ndata: two\n\r\n: ping\n\nid: 7\rdata:three\r\r"
                + "data: \u00e9\n\ndata: cut";
        List<SseEvent> whole = SseParser.parseAll(text);
        assertThat(whole).hasSize(3);
        var random = new java.util.Random(20261130);
        for (int trial = 0; trial < 500; trial++) {
            var parser = new SseParser();
            var events = new ArrayList<SseEvent>();
            for (int at = 0; at < text.length(); ) {
                int next = Math.min(text.length(), at + random.nextInt(6));
                events.addAll(parser.feed(text.substring(at, next)));
                at = next;
            }
            assertThat(events).as("trial %d", trial).isEqualTo(whole);
        }
    }

    @Test
    void takesWholeLinesOneByOne() {
        var parser = new SseParser();
        assertThat(parser.line("data: a")).isEmpty();
        assertThat(parser.line(": keep-alive")).isEmpty();
        assertThat(parser.line("")).contains(SseEvent.data("a"));
        assertThat(parser.line("")).isEmpty();
    }

    @Test
    void dropsAByteOrderMarkAtTheStart() {
        assertThat(SseParser.parseAll("\uFEFFdata: x\n\n")).containsExactly(SseEvent.data("x"));
        assertThat(new SseParser().line("\uFEFFdata: x")).isEmpty();
        var parser = new SseParser();
        parser.line("\uFEFFdata: x");
        assertThat(parser.line("")).contains(SseEvent.data("x"));
    }
}
