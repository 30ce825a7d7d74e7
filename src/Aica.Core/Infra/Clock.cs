namespace Aica;

/// <summary>Time source, replaceable in tests.</summary>
public class Clock
{
    public virtual DateTime Now => DateTime.Now;
    public string Stamp() => Now.ToString("yyyyMMdd_HHmmss");
    public string LogTime() => Now.ToString("yyyy-MM-dd HH:mm:ss");
}
