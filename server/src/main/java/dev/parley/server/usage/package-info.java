/**
 * Usage accounting after the engine: the {@link dev.parley.server.usage.UsageLedger} of requests, prompt and
 * completion tokens per key, model and UTC day, kept in a data folder or in Redis (shared by replicas);
 * {@link dev.parley.server.usage.Price}s per model turn it into spend, which monthly budgets are checked
 * against.
 *
 * <p>Everything is non-null unless documented otherwise.
 */
package dev.parley.server.usage;
