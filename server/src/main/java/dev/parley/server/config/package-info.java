/**
 * The server's configuration file: several local models and upstream fleets behind one endpoint, with their
 * aliases and fallbacks, and the server's own options. {@link dev.parley.server.config.ConfigFile} reads and checks
 * it; {@link dev.parley.server.config.ServerConfig#openEngine} opens what it describes.
 */
package dev.parley.server.config;
