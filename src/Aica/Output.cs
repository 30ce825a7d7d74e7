using System.Text.Json.Serialization.Metadata;
using Aica.Contracts;
using Aica.Engine;
using Aica.Native;
using Aica.Services;
using Aica.Site;

namespace Aica.Cli;

/// <summary>
/// Human output: one line per action or check with a status prefix; details on stdout, [FAIL]/[WARN] lines on stderr
/// (so a script that keeps stdout still sees them). Colour only on a terminal with NO_COLOR unset and TERM not dumb.
/// </summary>
public sealed class Output(TextWriter w, GlobalOptions o, TextWriter? problems = null)
{
    private readonly TextWriter _err = problems ?? w;
    private readonly bool _colour = ReferenceEquals(w, Terminal.Out) && Terminal.Colour(1);
    private readonly bool _errColour = ReferenceEquals(problems, Terminal.Err) ? Terminal.Colour(2) : ReferenceEquals(w, Terminal.Out) && Terminal.Colour(1);

    public TextWriter Writer => w;

    private static string Tag(string tag, bool colour) => !colour ? $"[{tag}]" : tag switch
    {
        "OK" or "PASS" or "DONE" => $"\e[32m[{tag}]\e[0m",
        "WARN" or "PLAN" => $"\e[33m[{tag}]\e[0m",
        "FAIL" or "ERROR" or "ALERT" => $"\e[31m[{tag}]\e[0m",
        _ => $"\e[36m[{tag}]\e[0m",
    };

    /// <summary>"[TAG]" padded to six visible columns (colour escapes take no room), then the text.</summary>
    private string Tagged(string tag, string text, bool? colour = null) =>
        tag.Length == 0 ? $"       {text}" : Tag(tag, colour ?? _colour) + new string(' ', Math.Max(1, 7 - tag.Length - 2)) + text;

    /// <summary>A detail line (suppressed by -q and by --json).</summary>
    public void Line(string tag, string text)
    {
        if (o.Quiet || o.Json) return;
        w.WriteLine(Tagged(tag, text));
    }

    /// <summary>A failure or warning line, on stderr: shown even with -q (not with --json, which carries it). HINT stays on stdout.</summary>
    public void Problem(string tag, string text)
    {
        if (o.Json) return;
        if (tag == "HINT") { w.WriteLine(Tagged(tag, text)); return; }
        _err.WriteLine(Tagged(tag, text, _errColour));
    }

    /// <summary>A report line that is the command's product (doctor): on stdout whatever its status; -q keeps only non-PASS.</summary>
    public void Report(string tag, string text)
    {
        if (o.Json || (o.Quiet && tag is "PASS" or "OK")) return;
        w.WriteLine(Tagged(tag, text));
    }

    /// <summary>The summary line, last.</summary>
    public void Summary(string text)
    {
        if (o.Json) return;
        w.WriteLine(text);
    }

    public static string Status(CheckStatus s) => s switch { CheckStatus.Pass => "PASS", CheckStatus.Warn => "WARN", _ => "FAIL" };

    public void Planned(IEnumerable<PlannedAction> plan)
    {
        foreach (var p in plan)
        {
            if (p.Drift.Conflict) Problem("FAIL", $"{p.Drift.Summary} (cannot be fixed automatically: {p.Drift.Fix})");
            else Line("PLAN", $"{p.Item.Describe}  ({p.Drift.Summary})");
        }
    }

    public void Applied(IEnumerable<AppliedAction> actions)
    {
        foreach (var a in actions)
        {
            if (a.Ok) Line("DONE", $"{a.Item.Describe}  (was: {a.Drift.Summary})");
            else Problem("FAIL", a.Error == a.Drift.Summary ? $"{a.Error}; fix: {a.Drift.Fix}" : $"{a.Item.Describe}: {a.Error}");
        }
    }

    /// <summary>Writes one JSON document to stdout (the only thing on stdout with --json).</summary>
    public void Json<T>(T document, JsonTypeInfo<T> type) => AicaJson.Write(w, document, type);

    public static IReadOnlyList<ActionRow> Rows(IEnumerable<PlannedAction> p) =>
        [.. p.Select(a => new ActionRow(a.Item.Id, a.Item.Subject, a.Item.Describe, a.Drift.Summary, "planned", a.Drift.Conflict ? a.Drift.Summary : null))];

    public static IReadOnlyList<ActionRow> Rows(IEnumerable<AppliedAction> p) =>
        [.. p.Select(a => new ActionRow(a.Item.Id, a.Item.Subject, a.Item.Describe, a.Drift.Summary, a.Error is null ? "done" : "failed", a.Error))];
}
