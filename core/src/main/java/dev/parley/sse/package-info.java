/**
 * Server-sent events framing only, as the WHATWG HTML standard defines it: {@link dev.parley.sse.SseEvent},
 * the line-fed {@link dev.parley.sse.SseParser} and the {@link dev.parley.sse.SseWriter}. Nothing here
 * knows what the {@code data} means ({@code [DONE]}, chunks, errors): that is the caller's job.
 *
 * <p>Every parameter and return value is non-null unless documented otherwise.
 */
package dev.parley.sse;
