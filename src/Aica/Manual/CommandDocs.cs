using System.Text.RegularExpressions;

namespace Aica.Cli.Manual;

/// <summary>One option as help shows it: "-g, --group GROUP   text".</summary>
public sealed record OptionDoc(string? Short, string Long, string? Value, string Text)
{
    /// <summary>Its names, short first.</summary>
    public IEnumerable<string> Names => Short is null ? [Long] : [Short, Long];
}

/// <summary>One argument of a command (USER, PATH...) and its help text.</summary>
public sealed record ArgumentDoc(string Name, bool Required, bool Many, string Text);

/// <summary>A command as its help describes it: the table's entry, the summary paragraph, arguments and options.</summary>
public sealed record CommandDoc(CommandInfo Info, string Summary, IReadOnlyList<ArgumentDoc> Arguments, IReadOnlyList<OptionDoc> Options);

/// <summary>
/// The command definitions the man page and the completions are generated from: <see cref="AicaApp.Table"/> (paths,
/// arguments, one-line descriptions) and each command's own help (its options, from the XML doc comments that
/// ConsoleAppFramework compiles in), read through <see cref="HelpText.Rewrite"/> so they match <c>aica CMD --help</c>.
/// A command added to the table and the app appears in both without touching this file.
/// </summary>
public static partial class CommandDocs
{
    /// <summary>
    /// Runs "CMD --help" of every command in the table through <paramref name="runHelp"/> (the app's parser, its
    /// output captured by the caller) and parses what it printed.
    /// </summary>
    public static IReadOnlyList<CommandDoc> Collect(Func<string[], string> runHelp) =>
        [.. AicaApp.Table.Select(info => Parse(info, HelpText.Rewrite(runHelp([.. info.Name.Split(' '), "--help"]))))];

    /// <summary>The global options (any position), from the text help prints.</summary>
    public static IReadOnlyList<OptionDoc> GlobalOptions { get; } = ParseOptions(AicaApp.GlobalOptionsHelp.Split('\n').Skip(1));

    public static CommandDoc Parse(CommandInfo info, string help)
    {
        var lines = help.Replace("\r", "").Split('\n');
        var summary = new List<string>();
        var args = new List<ArgumentDoc>();
        var options = new List<string>();
        var argRows = new List<string>();
        var where = "";
        foreach (var line in lines.Skip(1))
        {
            if (line is "Arguments:" or "Options:") { where = line; continue; }
            if (line.StartsWith("Global options", StringComparison.Ordinal)) break;
            if (where == "" && line.Trim().Length > 0) summary.Add(line.Trim());
            else if (where == "Arguments:" && line.StartsWith("  ", StringComparison.Ordinal)) argRows.Add(line);
            else if (where == "Options:" && line.StartsWith("  ", StringComparison.Ordinal)) options.Add(line);
        }
        var argTexts = argRows.Select(r => Row().Match(r)).Where(m => m.Success).ToDictionary(m => m.Groups[1].Value.Trim(), m => m.Groups[2].Value.Trim());
        foreach (var a in info.Args.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = a.Trim('[', ']', '.');
            args.Add(new ArgumentDoc(name, !a.StartsWith('['), a.Contains("..."), argTexts.GetValueOrDefault(name, "")));
        }
        return new CommandDoc(info, summary.Count > 0 ? string.Join(' ', summary) : info.Description, args, ParseOptions(options));
    }

    private static List<OptionDoc> ParseOptions(IEnumerable<string> rows)
    {
        var list = new List<OptionDoc>();
        foreach (var row in rows)
        {
            var m = Row().Match(row);
            if (!m.Success) continue;
            var left = m.Groups[1].Value.Trim();
            string? shortName = null;
            if (left.StartsWith('-') && !left.StartsWith("--", StringComparison.Ordinal))
            {
                var comma = left.IndexOf(", ", StringComparison.Ordinal);
                if (comma < 0) continue; // a short option without a long one: aica has none
                shortName = left[..comma];
                left = left[(comma + 2)..];
            }
            var space = left.IndexOf(' ');
            list.Add(new OptionDoc(shortName, space < 0 ? left : left[..space], space < 0 ? null : left[(space + 1)..].Trim(), m.Groups[2].Value.Trim()));
        }
        return list;
    }

    /// <summary>The first sentence, for completions that show one line per option.</summary>
    public static string FirstSentence(string text)
    {
        var i = text.IndexOf(". ", StringComparison.Ordinal);
        return (i < 0 ? text : text[..i]).TrimEnd('.');
    }

    [GeneratedRegex(@"^\s+(\S.*?)\s{2,}(\S.*)$")] private static partial Regex Row();
}
