package dev.parley.cli;

import dev.parley.api.ApiException;
import java.io.PrintWriter;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;

/** How a command reports a failure: one line on stderr, {@code parley NAME: message}, and exit code 1. */
final class Failures {
    static final int EXIT = 1;

    private Failures() {}

    static int report(PrintWriter err, String command, RuntimeException e) {
        return report(err, command, e, "");
    }

    /** With {@code hint} (empty, or starting with "; ") after the message. */
    static int report(PrintWriter err, String command, RuntimeException e, String hint) {
        err.println("parley " + command + ": " + describe(e) + hint + untrusted(e, "--ca-cert FILE or $SSL_CERT_FILE")
                + timedOut(e));
        err.flush();
        return EXIT;
    }

    /**
     * What to do about a server whose certificate no authority this machine trusts has signed (a private authority's,
     * a self-signed one), which {@code how} gives: empty for any other failure.
     */
    static String untrusted(Throwable e, String how) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof CertPathBuilderException || cause instanceof CertPathValidatorException)
                return "; the server's certificate is not signed by an authority this machine trusts: give that"
                        + " authority's certificate (or the server's own) with " + how;
        }
        return "";
    }

    /** What to do about a server that did not begin its answer in time: empty for any other failure. */
    static String timedOut(Throwable e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            // Connecting has its own, fixed, limit; --timeout is the wait for the answer.
            if (cause instanceof HttpTimeoutException && !(cause instanceof HttpConnectTimeoutException))
                return "; the answer had not begun when --timeout ran out (a model reading a long prompt may need"
                        + " more: --timeout SECONDS)";
        }
        return "";
    }

    /**
     * The message with, for an error response, its status and request id: what a bug report needs. An error the
     * client raised itself, before sending (an argument out of range), came with no response and says so by
     * having no headers: no status is claimed for it.
     */
    static String describe(RuntimeException e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (e instanceof ApiException api && !api.headers().isEmpty()) {
            // A body that was no OpenAI error is quoted after its status already ("HTTP 404: <!DOCTYPE html>…").
            String status = message.startsWith("HTTP " + api.status()) ? "" : "HTTP " + api.status();
            String request = api.requestId().map(id -> "request " + id).orElse("");
            String both = status.isEmpty() || request.isEmpty() ? status + request : status + ", " + request;
            return both.isEmpty() ? message : message + " (" + both + ")";
        }
        return message;
    }
}
