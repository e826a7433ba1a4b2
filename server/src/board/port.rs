//! Serial port discovery: the system's serial ports with USB VID:PID, and a hint for the ones
//! common MicroPython boards use.

use serde::Serialize;

/// USB ids MicroPython boards enumerate with: (VID, PID or `None` for every PID, the hint).
const KNOWN: &[(u16, Option<u16>, &str)] = &[
    (
        0x2E8A,
        Some(0x0005),
        "Raspberry Pi Pico (rp2) running MicroPython",
    ),
    (0xF055, None, "MicroPython USB device (pyboard, stm32, ...)"),
    (0x303A, None, "Espressif native USB (ESP32-S2/S3/C3/C6)"),
    (
        0x10C4,
        Some(0xEA60),
        "CP210x bridge (many ESP32/ESP8266 boards)",
    ),
    (
        0x1A86,
        Some(0x7523),
        "CH340 bridge (many ESP32/ESP8266 boards)",
    ),
    (0x1A86, Some(0x55D4), "CH9102 bridge (many ESP32 boards)"),
    (0x0403, Some(0x6001), "FTDI bridge"),
    (0x0403, Some(0x6015), "FTDI bridge"),
    (0x0D28, Some(0x0204), "DAPLink (BBC micro:bit, mbed boards)"),
    (0x239A, None, "Adafruit board"),
    (
        0x2341,
        None,
        "Arduino board (Nano RP2040 Connect, Portenta, ...)",
    ),
];

/// One serial port.
#[derive(Debug, Clone, Serialize)]
pub struct PortInfo {
    /// The device path (`/dev/ttyACM0`).
    pub port: String,
    /// `VID:PID` in hex, for USB ports.
    pub usb: Option<String>,
    /// The USB manufacturer string.
    pub manufacturer: Option<String>,
    /// The USB product string.
    pub product: Option<String>,
    /// Why this port likely has a MicroPython board behind it.
    pub hint: Option<String>,
}

/// The hint for a USB id, if a MicroPython board commonly uses it.
pub fn hint(vid: u16, pid: u16) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|(v, p, _)| *v == vid && p.is_none_or(|p| p == pid))
        .map(|(_, _, h)| *h)
}

/// Lists the serial ports, USB ones first and hinted ones before the rest.
pub fn list() -> Result<Vec<PortInfo>, String> {
    // serialport's sysfs scan (without libudev) panics when /sys/class/tty is missing.
    #[cfg(target_os = "linux")]
    if !std::path::Path::new("/sys/class/tty").is_dir() {
        return Ok(Vec::new());
    }
    let ports = serialport::available_ports().map_err(|e| e.to_string())?;
    let mut out: Vec<PortInfo> = ports
        .into_iter()
        .map(|p| match p.port_type {
            serialport::SerialPortType::UsbPort(u) => PortInfo {
                port: p.port_name,
                usb: Some(format!("{:04x}:{:04x}", u.vid, u.pid)),
                manufacturer: u.manufacturer,
                product: u.product,
                hint: hint(u.vid, u.pid).map(str::to_string),
            },
            _ => PortInfo {
                port: p.port_name,
                usb: None,
                manufacturer: None,
                product: None,
                hint: None,
            },
        })
        .collect();
    out.sort_by_key(|p| (p.hint.is_none(), p.usb.is_none(), p.port.clone()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints() {
        assert!(hint(0x2E8A, 0x0005).unwrap().contains("rp2"));
        assert!(hint(0x2E8A, 0x000A).is_none());
        assert!(hint(0xF055, 0x9802).is_some());
        assert!(hint(0x1234, 0x5678).is_none());
    }
}
