package dev.parley.server.engine.template;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvFileSource;
import org.junit.jupiter.params.provider.CsvSource;

class PyTest {
    /** {@code float-repr.csv} was written by {@code float_repr.py} with Python's own {@code repr}. */
    @ParameterizedTest
    @CsvFileSource(resources = "float-repr.csv", numLinesToSkip = 1)
    void printsFloatsAsPythonsRepr(String bits, String repr) {
        double d = Double.longBitsToDouble(Long.parseUnsignedLong(bits, 16));
        assertThat(Py.repr(d)).isEqualTo(repr);
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '`',
            value = {
                "abc|'abc'",
                "it's|\"it's\"",
                "say \"hi\"|'say \"hi\"'",
                "both ' and \"|'both \\' and \"'",
                "é ☕|'é ☕'",
            })
    void quotesStringsAsPythonsRepr(String s, String repr) {
        assertThat(Py.repr(s)).isEqualTo(repr);
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {"hello world|Hello World", "o'neil mc-x|O'Neil Mc-X", "ABC def|Abc Def"})
    void titleCasesAsPython(String s, String title) {
        assertThat(Py.title(s)).isEqualTo(title);
    }
}
