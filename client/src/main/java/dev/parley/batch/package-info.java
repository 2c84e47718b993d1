/**
 * The batch processor: JSONL requests in, JSONL results out, as fast as the rate limits allow and with
 * nothing lost. {@link dev.parley.batch.BatchRunner} is the entry point, configured by
 * {@link dev.parley.batch.BatchOptions}; {@link dev.parley.batch.Budget} is the request and token budget
 * it spends, local to the process or shared across processes and machines through Redis;
 * {@link dev.parley.batch.ResultFormat} is the shape of the results lines.
 *
 * <p>Every parameter and return value is non-null unless documented otherwise. Everything else in this
 * package is package-private.
 */
package dev.parley.batch;
