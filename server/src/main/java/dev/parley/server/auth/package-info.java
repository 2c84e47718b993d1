/**
 * The auth stage: a keys file ({@link dev.parley.server.auth.KeysFile}, JSON or YAML, keys stored as
 * SHA-256 only) and {@link dev.parley.server.auth.ApiKeys}, which turns an {@code Authorization} header
 * into the key's {@link dev.parley.server.auth.Tenant} (name, limits, allowed models) by constant-time
 * comparison, or a 401 {@code invalid_api_key}. Keys are never logged.
 */
package dev.parley.server.auth;
