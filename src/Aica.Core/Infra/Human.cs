namespace Aica;

/// <summary>Sizes for people: 1023 B, 1.5 KiB, 2.0 GiB (binary units, one decimal).</summary>
public static class Human
{
    public static string Bytes(long b)
    {
        string[] u = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double v = b; var i = 0;
        while (v >= 1024 && i < u.Length - 1) { v /= 1024; i++; }
        return i == 0 ? $"{b} B" : $"{v:0.0} {u[i]}";
    }
}
