using System.Text;

namespace Aica.IO;

/// <summary>
/// Text aica rewrites but does not own (the registry an admin edits, a user's rc files, authorized_keys): decoded so
/// that encoding it back gives the very same bytes. Valid UTF-8 is read as UTF-8; anything else (a Latin-1 comment,
/// a stray byte) byte for byte as Latin-1, so no byte is ever replaced by U+FFFD on the way through.
/// </summary>
public static class RawText
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The text, and the encoding that turns it (and text in the same terms) back into bytes.</summary>
    public static (string Text, Encoding Encoding) Decode(byte[] bytes)
    {
        try { return (StrictUtf8.GetString(bytes), StrictUtf8); }
        catch (DecoderFallbackException) { return (Encoding.Latin1.GetString(bytes), Encoding.Latin1); }
    }

    /// <summary><paramref name="text"/> (aica's own UTF-8 text) in the terms of <paramref name="encoding"/>: its UTF-8 bytes, one char each for Latin-1.</summary>
    public static string As(Encoding encoding, string text) =>
        ReferenceEquals(encoding, Encoding.Latin1) ? Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(text)) : text;
}
