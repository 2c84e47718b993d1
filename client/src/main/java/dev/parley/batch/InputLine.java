package dev.parley.batch;

import com.fasterxml.jackson.databind.JsonNode;

/** What one line of the input is: a request to send, a line to report (and write as an error), or nothing. */
sealed interface InputLine {
    /** 1-based, as editors count. */
    long number();

    /**
     * A request to send.
     *
     * @param id the line's identity in the results (see {@link LineReader#identity})
     * @param customId the line's {@code custom_id}; null when it has none
     * @param body the request body as it is sent (without {@code custom_id} and {@code metadata})
     * @param metadata echoed in the result, never sent; null when the line has none
     * @param estimate the tokens the request is expected to cost, prompt and completion
     * @param echo the input line as read, without its {@code metadata}
     */
    record Job(
            long number,
            String id,
            String customId,
            BatchRequest request,
            JsonNode body,
            JsonNode metadata,
            long estimate,
            JsonNode echo)
            implements InputLine {}

    /**
     * A line that is not a valid request (not UTF-8, bad JSON, a broken rule, a repeated {@code custom_id}).
     *
     * @param text the line as read (invalid UTF-8 replaced), to identify it
     * @param echo the line when it is a JSON object, without its {@code metadata}; else null
     */
    record Invalid(long number, String message, String text, JsonNode echo) implements InputLine {
        Invalid(long number, String message) {
            this(number, message, "", null);
        }
    }

    /** A blank line: nothing to do. */
    record Blank(long number) implements InputLine {}
}
