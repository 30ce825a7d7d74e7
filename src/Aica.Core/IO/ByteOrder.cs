namespace Aica.IO;

/// <summary>Byte-wise name order (file names are bytes, not necessarily UTF-8): listings come out the same on every run.</summary>
public sealed class ByteOrder : IComparer<byte[]>
{
    public static readonly ByteOrder Instance = new();
    public int Compare(byte[]? a, byte[]? b) => a.AsSpan().SequenceCompareTo(b);
}
