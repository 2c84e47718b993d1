package dev.parley.sse;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SseWriterTest {

    @Test
    void writesDataFramesAndDone() {
        var out = new StringBuilder();
        new SseWriter(out).data("{\"a\":1}").done();
        assertThat(out).hasToString("data: {\"a\":1}\n\ndata: [DONE]\n\n");
    }

    @Test
    void splitsMultiLineDataIntoSeveralDataLines() {
        var out = new StringBuilder();
        new SseWriter(out).data("one\ntwo\r\nthree\rfour");
        assertThat(out).hasToString("data: one\ndata: two\ndata: three\ndata: four\n\n");
    }

    @Test
    void writesEventIdAndRetryFieldsBeforeData() {
        assertThat(SseWriter.format(new SseEvent("e", "9", "x", 250L)))
                .isEqualTo("event: e\nid: 9\nretry: 250\ndata: x\n\n");
    }

    @Test
    void writesCommentsThatParsersIgnore() {
        var out = new StringBuilder();
        new SseWriter(out).comment("keep-alive").data("x");
        assertThat(out).hasToString(": keep-alive\n\ndata: x\n\n");
        assertThat(SseParser.parseAll(out.toString())).containsExactly(SseEvent.data("x"));
    }

    @Test
    void whatItWritesParsesBackToTheSameEvents() {
        var events = java.util.List.of(
                SseEvent.data(""), SseEvent.data("a\nb"), SseEvent.data("\n"), new SseEvent("t", "1", " lead", 5L));
        var out = new StringBuilder();
        var writer = new SseWriter(out);
        events.forEach(writer::write);
        assertThat(SseParser.parseAll(out.toString())).isEqualTo(events);
    }
}
