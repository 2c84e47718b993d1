package dev.parley.batch;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.Locale;

/** File errors in words: the path and the operating system's reason, e.g. {@code out.jsonl: permission denied}. */
public final class FileErrors {
    private FileErrors() {}

    /** {@code PATH: REASON}. */
    public static String describe(Path path, IOException e) {
        return path + ": " + reason(e);
    }

    /** The reason alone, e.g. {@code no such file or directory}, {@code is a directory}. */
    public static String reason(IOException e) {
        return switch (e) {
            case NoSuchFileException missing -> "no such file or directory";
            case AccessDeniedException denied -> "permission denied";
            case NotDirectoryException notDirectory -> "a parent is not a directory";
            case FileAlreadyExistsException exists -> "already exists";
            case CharacterCodingException coding -> "not UTF-8 text";
            case FileSystemException other
            when other.getReason() != null ->
                other.getReason().substring(0, 1).toLowerCase(Locale.ROOT)
                        + other.getReason().substring(1);
            default -> e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        };
    }
}
