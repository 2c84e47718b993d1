/**
 * What the Responses API keeps. Stored responses: each response a key asked to keep ({@code store}, true by
 * default), made here or relayed from another server, with the input it answered, so that a later request may
 * continue it ({@code previous_response_id}) and its owner may fetch, list the input of, or delete it; {@link
 * dev.parley.server.responses.KeptResponses} keeps them for a set time in a {@link
 * dev.parley.server.responses.ResponseStore}. Conversations (the Conversations API): lists of items that responses
 * naming them read and add to, until deleted; {@link dev.parley.server.responses.KeptConversations} keeps each as a
 * log of changes in a {@link dev.parley.server.responses.ConversationStore}. Both in Redis (shared by replicas), else
 * under the data folder, else in memory.
 *
 * <p>Everything is non-null unless documented otherwise.
 */
package dev.parley.server.responses;
