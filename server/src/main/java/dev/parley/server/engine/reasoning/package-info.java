/**
 * Reasoning on local models: which syntax a model's chat template sets its reasoning apart in ({@link
 * dev.parley.server.engine.reasoning.ReasoningSyntax}), and the parser that splits the model's text into that
 * reasoning and the answer as it is written ({@link dev.parley.server.engine.reasoning.ReasoningParser}). Pure
 * Java: the engine feeds them text.
 */
package dev.parley.server.engine.reasoning;
