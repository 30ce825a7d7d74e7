using System.Globalization;
using System.Text;

namespace Aica.Config;

/// <summary>A TOML value with the line it came from.</summary>
public sealed record TomlValue(object Value, int Line)
{
    public string AsString(string key) => Value as string ?? throw new TomlError(Line, $"{key} must be a string");
    public long AsInt(string key) => Value is long l ? l : throw new TomlError(Line, $"{key} must be an integer");
    public bool AsBool(string key) => Value is bool b ? b : throw new TomlError(Line, $"{key} must be true or false");
    public string[] AsStrings(string key) => Value is List<object> l && l.All(x => x is string)
        ? l.Cast<string>().ToArray() : throw new TomlError(Line, $"{key} must be an array of strings");
}

public sealed class TomlError(int line, string message) : Exception($"line {line}: {message}")
{
    public int Line { get; } = line;
}

/// <summary>
/// The subset of TOML that aica's config uses: [table] headers, key = value with basic or literal strings,
/// integers, booleans and (multi-line) arrays of those, and comments. Anything else is an error with its line,
/// which is what an admin editing the file needs; we keep it small rather than carry a general parser.
/// </summary>
public static class TomlLite
{
    /// <summary>Table name ("" for the top) → key → value.</summary>
    public static Dictionary<string, Dictionary<string, TomlValue>> Parse(string text)
    {
        var result = new Dictionary<string, Dictionary<string, TomlValue>> { [""] = new() };
        var table = "";
        if (text.StartsWith('\uFEFF')) text = text[1..]; // a byte-order mark from a Windows editor (TOML allows it)
        var lines = text.Replace("\r\n", "\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var lineNo = i + 1;
            var line = StripComment(lines[i], lineNo).Trim();
            if (line.Length == 0) continue;
            if (line.StartsWith('['))
            {
                if (!line.EndsWith(']') || line.StartsWith("[[")) throw new TomlError(lineNo, "bad table header");
                table = line[1..^1].Trim();
                if (table.Length == 0 || !table.Split('.').All(IsBareKey)) throw new TomlError(lineNo, $"bad table name '{table}'");
                if (result.ContainsKey(table)) throw new TomlError(lineNo, $"table [{table}] defined twice");
                result[table] = new();
                continue;
            }
            var eq = line.IndexOf('=');
            if (eq <= 0) throw new TomlError(lineNo, "expected key = value");
            var key = line[..eq].Trim();
            if (!IsBareKey(key)) throw new TomlError(lineNo, $"bad key '{key}'");
            var raw = line[(eq + 1)..].Trim();
            // A multi-line array continues until its closing bracket.
            if (raw.StartsWith('[') && !BalancedArray(raw))
            {
                var sb = new StringBuilder(raw);
                while (++i < lines.Length)
                {
                    sb.Append(' ').Append(StripComment(lines[i], i + 1).Trim());
                    if (BalancedArray(sb.ToString())) break;
                }
                if (i >= lines.Length) throw new TomlError(lineNo, "unterminated array");
                raw = sb.ToString();
            }
            var pos = 0;
            var value = ParseValue(raw, ref pos, lineNo);
            if (raw[pos..].Trim().Length > 0) throw new TomlError(lineNo, $"unexpected text after value: '{raw[pos..].Trim()}'");
            if (result[table].ContainsKey(key)) throw new TomlError(lineNo, $"key '{key}' defined twice");
            result[table][key] = new TomlValue(value, lineNo);
        }
        return result;
    }

    private static bool IsBareKey(string k) => k.Length > 0 && k.All(c => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-');

    private static bool BalancedArray(string s)
    {
        var depth = 0; var inStr = false; char q = '\0';
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (inStr) { if (c == '\\' && q == '"') i++; else if (c == q) inStr = false; continue; }
            if (c is '"' or '\'') { inStr = true; q = c; }
            else if (c == '[') depth++;
            else if (c == ']') depth--;
        }
        return depth == 0;
    }

    private static string StripComment(string line, int lineNo)
    {
        var inStr = false; char q = '\0';
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (inStr) { if (c == '\\' && q == '"') i++; else if (c == q) inStr = false; continue; }
            if (c is '"' or '\'') { inStr = true; q = c; }
            else if (c == '#') return line[..i];
        }
        if (inStr) throw new TomlError(lineNo, "unterminated string");
        return line;
    }

    private static object ParseValue(string s, ref int pos, int lineNo)
    {
        while (pos < s.Length && s[pos] == ' ') pos++;
        if (pos >= s.Length) throw new TomlError(lineNo, "missing value");
        var c = s[pos];
        if (c == '"') return ParseBasic(s, ref pos, lineNo);
        if (c == '\'')
        {
            var end = s.IndexOf('\'', pos + 1);
            if (end < 0) throw new TomlError(lineNo, "unterminated string");
            var v = s[(pos + 1)..end];
            pos = end + 1;
            return v;
        }
        if (c == '[')
        {
            pos++;
            var list = new List<object>();
            while (true)
            {
                while (pos < s.Length && s[pos] == ' ') pos++;
                if (pos < s.Length && s[pos] == ']') { pos++; return list; }
                list.Add(ParseValue(s, ref pos, lineNo));
                while (pos < s.Length && s[pos] == ' ') pos++;
                if (pos < s.Length && s[pos] == ',') { pos++; continue; }
                if (pos < s.Length && s[pos] == ']') { pos++; return list; }
                throw new TomlError(lineNo, "expected , or ] in array");
            }
        }
        var start = pos;
        while (pos < s.Length && s[pos] != ',' && s[pos] != ']' && s[pos] != ' ') pos++;
        var tok = s[start..pos];
        if (tok == "true") return true;
        if (tok == "false") return false;
        if (long.TryParse(tok.Replace("_", ""), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)) return n;
        throw new TomlError(lineNo, $"unsupported value '{tok}' (use a quoted string, an integer, true/false or an array)");
    }

    private static string ParseBasic(string s, ref int pos, int lineNo)
    {
        var sb = new StringBuilder();
        pos++;
        while (pos < s.Length)
        {
            var c = s[pos++];
            if (c == '"') return sb.ToString();
            if (c != '\\') { sb.Append(c); continue; }
            if (pos >= s.Length) break;
            var e = s[pos++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case '"': sb.Append('"'); break;
                case '\\': sb.Append('\\'); break;
                default: throw new TomlError(lineNo, $"unsupported escape \\{e}");
            }
        }
        throw new TomlError(lineNo, "unterminated string");
    }

    public static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n").Replace("\t", "\\t") + "\"";
    public static string Array(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(Quote)) + "]";
}
