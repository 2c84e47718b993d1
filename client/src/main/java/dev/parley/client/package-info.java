/**
 * The public client of an OpenAI-compatible chat-completions server: {@link dev.parley.client.ParleyClient},
 * built from {@link dev.parley.client.ClientOptions}, answering typed records of {@code dev.parley.api}
 * and closeable streams ({@link dev.parley.client.ChatStream}, {@link dev.parley.client.CompletionStream}).
 *
 * <p>Errors: an error response is the {@link dev.parley.api.ApiException} subclass of its status (with
 * the response's headers); a failure to reach the server or a stream cut short is a
 * {@link dev.parley.client.TransportException}; a request that breaks OpenAI's rules fails before it is
 * sent, with {@link dev.parley.api.InvalidRequestException}. Every parameter and return value is
 * non-null unless documented otherwise. Everything else in this package is package-private.
 */
package dev.parley.client;
