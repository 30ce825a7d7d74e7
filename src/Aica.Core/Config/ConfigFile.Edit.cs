using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace Aica.Config;

/// <summary>Edits of aica.toml through Tomlyn's lossless syntax tree: init changes values, the admin's text stays.</summary>
public static partial class ConfigFile
{
    /// <summary>
    /// Sets keys in the admin's file without touching anything else: a key that is there gets its new value (its
    /// comment kept), a missing one is added at the end of its table (the table is added at the end when missing).
    /// Comments, blank lines and ordering stay as written. The text must parse (check it first).
    /// </summary>
    public static string Edit(string text, IEnumerable<(string Key, object Value)> changes)
    {
        var bom = text.StartsWith('\uFEFF');
        var doc = SyntaxParser.Parse(bom ? text[1..] : text, "aica.toml", true);
        if (doc.HasErrors) throw new ConfigError([.. doc.Diagnostics.Select(d => new ConfigIssue(d.Span.Start.Line + 1, d.Message))]);
        foreach (var (key, value) in changes)
        {
            var dot = key.IndexOf('.');
            var (tableName, leaf) = (key[..dot], key[(dot + 1)..]);
            var existing = Find(doc, tableName, leaf);
            var newValue = ValueSyntaxOf(value);
            if (existing is not null)
            {
                // The comment after the old value is trailing trivia of its last token: give it to the new value.
                newValue.TrailingTrivia = existing.Value?.TrailingTrivia;
                if (existing.Value is { } old && LastToken(old) is { } oldTok && LastToken(newValue) is { } newTok)
                {
                    newTok.TrailingTrivia = oldTok.TrailingTrivia;
                }
                existing.Value = newValue;
                continue;
            }
            var kv = new KeyValueSyntax(leaf, newValue) { EndOfLineToken = SyntaxFactory.NewLine() };
            var table = doc.Tables.FirstOrDefault(t => t is TableSyntax && t.Name is { } n && KeyText(n) == tableName);
            if (table is null)
            {
                table = new TableSyntax(tableName) { EndOfLineToken = SyntaxFactory.NewLine() };
                // A blank line before a new table, as init writes them.
                if (doc.Tables.ChildrenCount > 0 || doc.KeyValues.ChildrenCount > 0)
                    table.OpenBracket!.LeadingTrivia = [SyntaxFactory.NewLineTrivia()];
                doc.Tables.Add(table);
            }
            // Blank lines after the table's last key stay after the new one (they separate it from the next table).
            if (table.Items.ChildrenCount > 0 && table.Items.GetChild(table.Items.ChildrenCount - 1) is { EndOfLineToken: { } eol } last)
            {
                kv.EndOfLineToken!.TrailingTrivia = eol.TrailingTrivia;
                eol.TrailingTrivia = null;
            }
            else if (table.EndOfLineToken is { } headerEol)
            {
                kv.EndOfLineToken!.TrailingTrivia = headerEol.TrailingTrivia;
                headerEol.TrailingTrivia = null;
            }
            table.Items.Add(kv);
        }
        var output = doc.ToString() ?? "";
        if (output.Length > 0 && !output.EndsWith('\n')) output += "\n";
        return bom ? "\uFEFF" + output : output;
    }

    private static KeyValueSyntax? Find(DocumentSyntax doc, string table, string leaf)
    {
        foreach (var kv in doc.KeyValues)
            if (kv.Key is { } k && KeyText(k) == $"{table}.{leaf}") return kv;
        foreach (var t in doc.Tables)
        {
            if (t is not TableSyntax || t.Name is null || KeyText(t.Name) != table) continue;
            foreach (var kv in t.Items)
                if (kv.Key is { } k && KeyText(k) == leaf) return kv;
        }
        return null;
    }

    private static SyntaxToken? LastToken(SyntaxNode node) => node switch
    {
        StringValueSyntax s => s.Token,
        IntegerValueSyntax i => i.Token,
        BooleanValueSyntax b => b.Token,
        FloatValueSyntax f => f.Token,
        ArraySyntax a => a.CloseBracket,
        InlineTableSyntax t => t.CloseBrace,
        _ => null,
    };

    private static ValueSyntax ValueSyntaxOf(object value) => value switch
    {
        string s => new StringValueSyntax(s),
        int i => new IntegerValueSyntax(i),
        long l => new IntegerValueSyntax(l),
        bool b => new BooleanValueSyntax(b),
        string[] a => new ArraySyntax(a),
        _ => throw new ArgumentException($"no TOML form for {value.GetType().Name}"),
    };
}
