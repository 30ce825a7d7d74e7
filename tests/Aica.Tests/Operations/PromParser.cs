using System.Globalization;
using System.Text;

namespace Aica.Tests.Operations;

/// <summary>One parsed sample: metric name, labels (unescaped), value.</summary>
public sealed record PromLine(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A strict reader of the text exposition format 0.0.4, written for the tests (not aica's writer read back): each
/// family has exactly one HELP and one TYPE before its samples, its samples are contiguous, no sample carries a
/// timestamp, names are valid, label values use only the three escapes, no two samples are the same series.
/// Throws <see cref="FormatException"/> naming the line on any breach.
/// </summary>
public static class PromParser
{
    public static List<PromLine> Parse(string text)
    {
        if (text.Length > 0 && !text.EndsWith('\n')) throw new FormatException("the last line has no line feed");
        var samples = new List<PromLine>();
        var help = new HashSet<string>();
        var type = new Dictionary<string, string>();
        var closed = new HashSet<string>(); // families whose samples ended (another family began)
        var series = new HashSet<string>();
        string? current = null;
        var n = 0;
        foreach (var line in text.Split('\n')[..^1])
        {
            n++;
            if (line.StartsWith("# HELP ") || line.StartsWith("# TYPE "))
            {
                var rest = line[7..];
                var sp = rest.IndexOf(' ');
                var name = sp < 0 ? rest : rest[..sp];
                if (!ValidMetric(name)) throw new FormatException($"line {n}: bad metric name '{name}'");
                if (closed.Contains(name) || (current is not null && current != name && (help.Contains(name) || type.ContainsKey(name))))
                    throw new FormatException($"line {n}: {name} declared again");
                if (current != name && current is not null) closed.Add(current);
                current = name;
                if (line[2] == 'H')
                {
                    if (!help.Add(name)) throw new FormatException($"line {n}: second HELP for {name}");
                    var h = sp < 0 ? "" : rest[(sp + 1)..];
                    for (var i = 0; i < h.Length; i++)
                        if (h[i] == '\\' && (i + 1 >= h.Length || h[++i] is not ('\\' or 'n'))) throw new FormatException($"line {n}: bad escape in HELP");
                }
                else
                {
                    if (type.ContainsKey(name)) throw new FormatException($"line {n}: second TYPE for {name}");
                    if (samples.Any(s => s.Name == name)) throw new FormatException($"line {n}: TYPE after samples of {name}");
                    var t = sp < 0 ? "" : rest[(sp + 1)..];
                    if (t is not ("counter" or "gauge" or "histogram" or "summary" or "untyped")) throw new FormatException($"line {n}: bad type '{t}'");
                    type[name] = t;
                }
                continue;
            }
            if (line.StartsWith('#') || line.Length == 0) continue;
            var (metric, labels, after) = ReadSeries(line, n);
            if (!help.Contains(metric) || !type.ContainsKey(metric)) throw new FormatException($"line {n}: {metric} has no HELP and TYPE before it");
            if (current != metric) throw new FormatException($"line {n}: {metric} sample away from its family");
            var fields = after.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 1) throw new FormatException($"line {n}: expected a value and no timestamp, got '{after}'");
            var v = fields[0] switch
            {
                "NaN" => double.NaN, "+Inf" => double.PositiveInfinity, "-Inf" => double.NegativeInfinity,
                var x => double.Parse(x, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            var key = metric + "{" + string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")) + "}";
            if (!series.Add(key)) throw new FormatException($"line {n}: duplicate series {key}");
            samples.Add(new PromLine(metric, labels, v));
        }
        return samples;
    }

    private static (string, Dictionary<string, string>, string) ReadSeries(string line, int n)
    {
        var i = 0;
        while (i < line.Length && line[i] is not ('{' or ' ')) i++;
        var name = line[..i];
        if (!ValidMetric(name)) throw new FormatException($"line {n}: bad metric name '{name}'");
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                var ln = line[i..eq];
                if (ln.Length == 0 || ln.StartsWith("__") || !ln.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') || char.IsAsciiDigit(ln[0]))
                    throw new FormatException($"line {n}: bad label name '{ln}'");
                if (line[eq + 1] != '"') throw new FormatException($"line {n}: label value not quoted");
                var sb = new StringBuilder();
                var j = eq + 2;
                for (; line[j] != '"'; j++)
                {
                    if (line[j] != '\\') { sb.Append(line[j]); continue; }
                    j++;
                    sb.Append(line[j] switch { '\\' => '\\', '"' => '"', 'n' => '\n', _ => throw new FormatException($"line {n}: bad escape \\{line[j]}") });
                }
                if (!labels.TryAdd(ln, sb.ToString())) throw new FormatException($"line {n}: label {ln} twice");
                i = j + 1;
                if (line[i] == ',') i++;
                else if (line[i] != '}') throw new FormatException($"line {n}: expected , or }}");
            }
            i++;
        }
        if (i >= line.Length || line[i] != ' ') throw new FormatException($"line {n}: no value");
        return (name, labels, line[(i + 1)..]);
    }

    private static bool ValidMetric(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':');
}
