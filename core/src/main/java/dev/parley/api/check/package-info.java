/**
 * Request validation shared by both sides of the wire: the server rejects a bad request with it and the
 * client fails fast with the very same error. Each failure is an
 * {@link dev.parley.api.InvalidRequestException} whose {@code param} names the offending field
 * ({@code messages[2].role}) and whose {@code message} and {@code code} follow OpenAI's wording.
 */
package dev.parley.api.check;
