/**
 * An engine that answers from an upstream OpenAI-compatible provider through Parley's own client: the
 * server's keys, limits and usage accounting in front of any provider.
 */
package dev.parley.server.engine.proxy;
