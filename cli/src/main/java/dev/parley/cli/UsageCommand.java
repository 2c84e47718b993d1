package dev.parley.cli;

import dev.parley.server.usage.Counts;
import dev.parley.server.usage.Price;
import dev.parley.server.usage.UsageLedger;
import dev.parley.server.usage.UsageRow;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code parley keys usage}: the usage ledger a server keeps (under its data folder, or in Redis), as a table of
 * key, model and UTC day, with the spend at the prices given.
 */
@Command(
        name = "usage",
        mixinStandardHelpOptions = true,
        description =
                "Show what keys used, per key, model and UTC day: requests, prompt and completion tokens, and"
                        + " the spend at the prices given. Reads the ledger a server keeps under its --data-dir, or in --redis.")
final class UsageCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--name", paramLabel = "KEY", description = "Only this key (default: every key).")
    String name;

    @Option(
            names = "--from",
            paramLabel = "YYYY-MM-DD",
            converter = Day.class,
            description = "First UTC day shown (default: the first day of this month).")
    LocalDate from;

    @Option(
            names = "--to",
            paramLabel = "YYYY-MM-DD",
            converter = Day.class,
            description = "Last UTC day shown (default: today).")
    LocalDate to;

    /** A day as the options spell it, refused in those words rather than in the parser's class names. */
    static final class Day implements CommandLine.ITypeConverter<LocalDate> {
        @Override
        public LocalDate convert(String value) {
            try {
                return LocalDate.parse(value);
            } catch (DateTimeParseException e) {
                String why = e.getCause() != null ? e.getCause().getMessage() : null;
                throw new CommandLine.TypeConversionException(
                        "'" + value + "' is not a day as YYYY-MM-DD" + (why == null ? "" : " (" + why + ")"));
            }
        }
    }

    @Option(
            names = "--data-dir",
            paramLabel = "DIR",
            description = "The server's data folder (default: as 'parley serve': $PARLEY_DATA_DIR, else"
                    + " $XDG_DATA_HOME/parley, else ~/.local/share/parley).")
    Path dataDir;

    @Option(
            names = "--redis",
            paramLabel = "redis://host:port",
            description = "Read the ledger the servers keep in this Redis instead.")
    URI redis;

    @Option(
            names = "--price",
            paramLabel = "MODEL=INPUT,OUTPUT",
            description = "A model's price in USD per million input and output tokens, as given to 'parley serve';"
                    + " with any, a SPEND column shows.")
    List<String> prices = List.of();

    Clock clock = Clock.systemUTC();

    /** Days shown at most at once: a range of years would print more than anyone reads. */
    static final long MOST_DAYS = 3660;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        Map<String, Price> priced;
        try {
            priced = Price.parseAll(prices);
        } catch (IllegalArgumentException e) {
            err.println("parley keys usage: " + e.getMessage());
            return 2;
        }
        LocalDate today = LocalDate.now(clock.withZone(ZoneOffset.UTC));
        LocalDate first = from != null ? from : today.withDayOfMonth(1);
        LocalDate last = to != null ? to : today;
        if (last.isBefore(first)) {
            err.println("parley keys usage: --to " + last + " is before --from " + first);
            return 2;
        }
        if (first.plusDays(MOST_DAYS).isBefore(last)) {
            err.println("parley keys usage: at most " + MOST_DAYS + " days at once");
            return 2;
        }
        List<UsageRow> rows;
        try (UsageLedger ledger =
                redis != null ? UsageLedger.readRedis(redis) : UsageLedger.readFolder(ServeCommand.dataDir(dataDir))) {
            rows = ledger.rows(first, last).stream()
                    .filter(r -> name == null || r.key().equals(name))
                    .toList();
        } catch (RuntimeException e) {
            err.println("parley keys usage: " + e.getMessage());
            return 1;
        }
        print(spec.commandLine().getOut(), rows, priced);
        if (rows.isEmpty()) { // most often a server with another --data-dir or --redis: say where was looked
            err.printf(
                    "parley keys usage: nothing recorded from %s to %s%s in %s%n",
                    first,
                    last,
                    name == null ? "" : " for " + name,
                    redis != null ? redis : ServeCommand.dataDir(dataDir));
        }
        return 0;
    }

    /** The table, then a total line when there are rows. */
    static void print(PrintWriter out, List<UsageRow> rows, Map<String, Price> prices) {
        int keyWidth =
                Math.max(3, rows.stream().mapToInt(r -> r.key().length()).max().orElse(0));
        int modelWidth = Math.max(
                5, rows.stream().mapToInt(r -> r.model().length()).max().orElse(0));
        boolean spend = !prices.isEmpty();
        String row = "%-10s  %-" + keyWidth + "s  %-" + modelWidth + "s  %10s  %14s  %14s" + (spend ? "  %12s" : "%s")
                + "%n";
        out.printf(row, "DAY", "KEY", "MODEL", "REQUESTS", "PROMPT", "COMPLETION", spend ? "SPEND" : "");
        Counts total = Counts.ZERO;
        double spent = 0;
        for (UsageRow r : rows) {
            Counts c = r.counts();
            double cost = c.cost(prices.get(r.model()));
            total = total.plus(c);
            spent += cost;
            out.printf(
                    row,
                    r.day(),
                    r.key(),
                    r.model(),
                    c.requests(),
                    c.promptTokens(),
                    c.completionTokens(),
                    spend ? (prices.containsKey(r.model()) ? "$" + usd(cost) : "-") : "");
        }
        if (!rows.isEmpty()) {
            out.printf(
                    row,
                    "total",
                    "",
                    "",
                    total.requests(),
                    total.promptTokens(),
                    total.completionTokens(),
                    spend ? "$" + usd(spent) : "");
        }
        out.flush();
    }

    /** Dollars with up to six decimals, without trailing zeros: {@code 0.000042}, {@code 12.5}. */
    static String usd(double amount) {
        return BigDecimal.valueOf(amount)
                .setScale(6, RoundingMode.HALF_UP)
                .stripTrailingZeros()
                .toPlainString();
    }
}
