using System.Globalization;
using System.Text;

namespace Aica;

/// <summary>One sample of a metric family: its labels (may be empty) and its value.</summary>
public readonly record struct PromSample(double Value, params (string Name, string Value)[] Labels);

/// <summary>
/// Prometheus text exposition format 0.0.4 (what node_exporter's textfile collector reads): each family written once,
/// HELP and TYPE first and all its samples together, no timestamps (the collector refuses them), names and label
/// names checked, label values and help text escaped. A second family of the same name is a defect: it throws.
/// </summary>
public sealed class PromText
{
    private readonly StringBuilder _sb = new();
    private readonly HashSet<string> _families = new(StringComparer.Ordinal);
    private readonly List<(string Name, PromSample Sample)> _samples = [];

    /// <summary>Every sample written, in order (for --json).</summary>
    public IReadOnlyList<(string Name, PromSample Sample)> Samples => _samples;

    /// <summary>Writes a family; one with no samples is left out (an empty family says nothing).</summary>
    public PromText Family(string name, string type, string help, IEnumerable<PromSample> samples)
    {
        if (!ValidName(name, metric: true)) throw new ArgumentException($"invalid metric name '{name}'");
        if (type is not ("gauge" or "counter" or "untyped")) throw new ArgumentException($"metric type {type} is not written by aica");
        var list = samples.ToList();
        if (list.Count == 0) return this;
        if (!_families.Add(name)) throw new InvalidOperationException($"metric {name} written twice");
        _sb.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(help)).Append('\n');
        _sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in list)
        {
            var labels = new StringBuilder();
            if (s.Labels.Length > 0)
            {
                labels.Append('{');
                for (var i = 0; i < s.Labels.Length; i++)
                {
                    var (ln, lv) = s.Labels[i];
                    if (!ValidName(ln, metric: false)) throw new ArgumentException($"invalid label name '{ln}' in {name}");
                    if (i > 0) labels.Append(',');
                    labels.Append(ln).Append("=\"").Append(EscapeLabel(lv)).Append('"');
                }
                labels.Append('}');
            }
            // Two samples with the same labels would make the whole file fail to parse (node_textfile_scrape_error 1).
            if (!seen.Add(labels.ToString())) throw new InvalidOperationException($"metric {name}{labels} written twice");
            _sb.Append(name).Append(labels).Append(' ').Append(Value(s.Value)).Append('\n');
            _samples.Add((name, s));
        }
        return this;
    }

    public PromText Gauge(string name, string help, double value) => Family(name, "gauge", help, [new PromSample(value)]);

    public PromText Gauge(string name, string help, IEnumerable<PromSample> samples) => Family(name, "gauge", help, samples);

    public override string ToString() => _sb.ToString();

    /// <summary>[a-zA-Z_:][a-zA-Z0-9_:]* for metrics; labels without ':' and never starting with "__" (reserved).</summary>
    public static bool ValidName(string name, bool metric)
    {
        if (name.Length == 0 || (!metric && name.StartsWith("__", StringComparison.Ordinal))) return false;
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            var ok = char.IsAsciiLetter(c) || c == '_' || (metric && c == ':') || (i > 0 && char.IsAsciiDigit(c));
            if (!ok) return false;
        }
        return true;
    }

    /// <summary>Label values: backslash, double quote and line feed escaped.</summary>
    public static string EscapeLabel(string v) => v.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    /// <summary>HELP text: backslash and line feed escaped.</summary>
    public static string EscapeHelp(string v) => v.Replace("\\", "\\\\").Replace("\n", "\\n");

    public static string Value(double v) =>
        double.IsNaN(v) ? "NaN" : double.IsPositiveInfinity(v) ? "+Inf" : double.IsNegativeInfinity(v) ? "-Inf" : v.ToString("R", CultureInfo.InvariantCulture);
}
