/**
 * Tool calls on local models: which syntax a model's chat template uses for them ({@link
 * dev.parley.server.engine.tools.ToolSyntax}), the grammar that makes the model write valid calls in it, and the
 * parser that turns the model's text back into OpenAI's {@code tool_calls} ({@link
 * dev.parley.server.engine.tools.ToolCallParser}). Pure Java: the engine feeds them text and applies the grammar.
 */
package dev.parley.server.engine.tools;
