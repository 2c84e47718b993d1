/**
 * The OpenAI wire model: records for the Chat Completions and legacy Completions APIs, their responses,
 * stream chunks, models, usage and errors, and the one configured {@link dev.parley.api.Json} mapper.
 *
 * <p>Record components use OpenAI's own words; the mapper turns them into snake_case JSON names, omits
 * {@code null} components on output and tolerates unknown fields on input. Every component is non-null
 * unless documented otherwise; an optional wire field that is absent is a {@code null} component.
 * Records hold data only: checking a request against OpenAI's rules is {@link dev.parley.api.check}'s job.
 */
package dev.parley.api;
