using System.Text;
using System.Text.RegularExpressions;

namespace Aica.Cli;

/// <summary>
/// Turns ConsoleAppFramework's help into aica's: "Usage: aica CMD ARGS [options]", argument names instead of
/// "[0] &lt;string&gt;", value names instead of C# types ("--uid N", not "--uid &lt;int?&gt;"), no "[Default: null]",
/// long options aligned under the short ones, and the global options at the end.
/// </summary>
public static partial class HelpText
{
    /// <summary>Value names where the option's own name would not say it.</summary>
    private static readonly Dictionary<string, string> ValueNames = new(StringComparer.Ordinal)
    {
        ["uid"] = "N", ["gid"] = "N", ["top"] = "N", ["threshold"] = "PERCENT", ["older-than"] = "DAYS",
        ["from"] = "FILE", ["pubkey-file"] = "FILE", ["sha256"] = "HEX", ["to"] = "LAYOUT", ["image"] = "DIR",
    };

    public static string Rewrite(string message)
    {
        if (!message.StartsWith("Usage: ", StringComparison.Ordinal)) return message;
        var lines = message.Replace("\r", "").Split('\n');
        var usage = UsageLine().Match(lines[0]);
        if (!usage.Success) return message;
        var name = usage.Groups[1].Value.Trim();
        var info = AicaApp.Table.FirstOrDefault(c => c.Name == name);
        var argNames = (info?.Args ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a.Trim('[', ']', '.')).ToArray();
        var sb = new StringBuilder();
        sb.Append($"Usage: aica {(name + " " + info?.Args).TrimEnd()} [options]\n");
        var i = 1;
        while (i < lines.Length)
        {
            var line = lines[i];
            if (line is "Arguments:" or "Options:")
            {
                var rows = new List<(string Left, string Right)>();
                var j = i + 1;
                for (; j < lines.Length && lines[j].StartsWith("  ", StringComparison.Ordinal); j++)
                {
                    var m = Row().Match(lines[j]);
                    if (!m.Success) { rows.Add((lines[j].Trim(), "")); continue; }
                    rows.Add(line == "Arguments:" ? ArgumentRow(m.Groups[1].Value, m.Groups[2].Value, argNames) : OptionRow(m.Groups[1].Value, m.Groups[2].Value));
                }
                var width = rows.Max(r => r.Left.Length) + 4;
                sb.Append(line).Append('\n');
                foreach (var (left, right) in rows) sb.Append("  ").Append(right.Length == 0 ? left : left.PadRight(width) + right).Append('\n');
                i = j;
                continue;
            }
            sb.Append(line).Append('\n');
            i++;
        }
        var text = sb.ToString().TrimEnd('\n');
        return text + "\n\n" + AicaApp.GlobalOptionsHelp;
    }

    private static (string, string) ArgumentRow(string left, string right, string[] names)
    {
        var m = ArgumentIndex().Match(left);
        var index = m.Success ? int.Parse(m.Groups[1].Value) : -1;
        return (index >= 0 && index < names.Length ? names[index] : left, right);
    }

    private static (string, string) OptionRow(string left, string right)
    {
        right = DefaultNull().Replace(right, "").Replace("[Default: ", "[default: ");
        var flags = TypeName().Replace(left, "").Trim();
        var longName = flags.Split(", ").Last().TrimStart('-');
        if (TypeName().IsMatch(left)) flags += " " + (ValueNames.TryGetValue(longName, out var v) ? v : longName.ToUpperInvariant().Replace('-', '_'));
        if (!flags.StartsWith("-", StringComparison.Ordinal) || flags.StartsWith("--", StringComparison.Ordinal)) flags = "    " + flags;
        return (flags, right);
    }

    [GeneratedRegex(@"^Usage: (.+?)( \[arguments\.\.\.\])?( \[options\.\.\.\])? \[-h\|--help\]")] private static partial Regex UsageLine();
    [GeneratedRegex(@"^  (\S.*?)\s{2,}(\S.*)$")] private static partial Regex Row();
    [GeneratedRegex(@"^\[(\d+)\]")] private static partial Regex ArgumentIndex();
    [GeneratedRegex(@"\s*<[^>]+>")] private static partial Regex TypeName();
    [GeneratedRegex(@"\s*\[Default: (null|False)\]")] private static partial Regex DefaultNull();
}
