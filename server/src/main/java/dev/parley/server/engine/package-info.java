/**
 * What the HTTP layer asks of a model runtime, and nothing about HTTP, keys or limits: an
 * {@link dev.parley.server.engine.Engine} takes a checked request and returns a
 * {@link dev.parley.server.engine.Generation}, a blocking, cancellable sequence of token and finish events.
 */
package dev.parley.server.engine;
