/**
 * The HTTP surface: routes, body reading, the single place where an exception becomes an OpenAI error
 * body, JSON and SSE replies, and {@code x-request-id} on every response.
 */
package dev.parley.server.http;
